# The depa-chain ledger. Build from the repository root:
#   docker build -f docker/ledger.Dockerfile -t depa-chain .
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY chain chain
COPY attestation attestation
COPY privacy privacy
COPY ccr_agent ccr_agent
COPY auditor auditor
COPY keybroker keybroker
COPY trainers trainers
RUN pip install --no-cache-dir .
VOLUME /ledger
EXPOSE 8000
# `depa-chain init --home /ledger --origin ...` once, then:
CMD ["depa-chain", "serve", "--home", "/ledger", "--host", "0.0.0.0", "--port", "8000"]
