"""A run's training transcript checked against the log: the root `run.complete` logged, the output the run
registered, and the steps the run committed to the budget."""

from __future__ import annotations

from auditor.checks import Finding, ok
from auditor.replay import World
from chain.tlog import transcript
from schemas.canonical import sha256_digest
from schemas.errors import NotFound


def check(world: World, run_id: str, text: bytes) -> list[Finding]:
    """Each check of the transcript file `text` against run `run_id` as the verified log tells it."""
    run = world.runs.get(run_id)
    if run is None:
        raise NotFound(f"no attested run {run_id} in the log")
    scope = f"transcript of run {run_id}"
    committed = transcript.commit(text)
    logged = run.complete.body.transcript if run.complete else None
    seq = run.complete.seq if run.complete else None
    if logged is None:
        return [ok(scope, "committed", False, "", "the run's completion commits to no transcript", seq)]
    digest = sha256_digest(text)
    registered = {o.body.digest: o.seq for o in run.outputs}
    records = committed.records
    findings = [
        ok(scope, "root", committed.root == logged.root and committed.epochs == logged.epochs,
           f"the Merkle root of its {committed.epochs} epochs is the one run.complete logged",
           f"its lines' root {committed.root} ({committed.epochs} epochs) is not the logged {logged.root} "
           f"({logged.epochs} epochs)", seq),
        ok(scope, "registered", digest in registered, f"it is the output the run registered ({digest})",
           f"{digest} is not an output of the run", registered.get(digest)),
        ok(scope, "ordered", _ordered(records), "epochs count up, steps grow and the spend never falls",
           "its epochs, steps or spend go backwards"),
    ]  # fmt: skip
    commits = list(run.commits.values())
    if commits and records:
        committed_steps = sum(seg.steps for seg in commits[0].body.segments)
        findings.append(ok(scope, "steps", records[-1].get("steps") == committed_steps,
                           f"its last epoch ends at step {committed_steps}, the steps the run committed",
                           f"it ends at step {records[-1].get('steps')}; the run committed {committed_steps}",
                           commits[0].seq))  # fmt: skip
    return findings


def _ordered(records: list[dict]) -> bool:
    try:
        epochs = [int(r["epoch"]) for r in records]
        steps = [int(r["steps"]) for r in records]
        spent = [float(r["epsilon"]) for r in records if r.get("epsilon") is not None]
    except (KeyError, TypeError, ValueError):
        return False
    rising = all(a < b for a, b in zip(steps, steps[1:], strict=False))
    return epochs == list(range(1, len(records) + 1)) and rising and spent == sorted(spent)
