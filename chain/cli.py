"""`depa-chain`: run a ledger, and talk to one as a party. Commands parse, call, render."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from chain.client import LedgerClient, fetch_vkey
from chain.console import err, lineage_tree, out, read_file, run, version_option
from chain.tlog import entry
from chain.tlog.checkpoint import load_vkey
from chain.tlog.receipt import Receipt
from schemas import statement as s
from schemas.api import ContractView
from schemas.canonical import parse_json, sha256_digest
from schemas.contract import Contract, Filling, contract_id, fill_upstream
from schemas.digest import artefact_digest
from schemas.encoding import b64
from schemas.errors import DepaError, MalformedInput, NotFound, SchemaViolation, VerificationError
from schemas.keys import Signer, load_identity, new_identity, read_identity

app = typer.Typer(help="depa-chain: the signed-statement Merkle ledger of DEPA-Training.", no_args_is_help=True)
version_option(app, "depa-chain")
keys_app = typer.Typer(help="Create party keys.", no_args_is_help=True)
party_app = typer.Typer(help="Register parties (operator).", no_args_is_help=True)
contract_app = typer.Typer(help="Propose, sign, show and import contracts.", no_args_is_help=True)
artefact_app = typer.Typer(help="Register artefacts by digest.", no_args_is_help=True)
receipt_app = typer.Typer(help="Verify receipts offline.", no_args_is_help=True)
entry_app = typer.Typer(help="Read logged entries, each proven against the pinned vkey.", no_args_is_help=True)


def _add_commands() -> None:
    """Commands that installed packages add to depa-chain (`console`, from the web console), by entry point."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="depa_chain.commands"):
        app.command(ep.name)(ep.load())


for sub, name in [
    (keys_app, "keys"),
    (party_app, "party"),
    (contract_app, "contract"),
    (artefact_app, "artefact"),
    (receipt_app, "receipt"),
    (entry_app, "entry"),
]:
    app.add_typer(sub, name=name)


LedgerUrl = Annotated[str, typer.Option("--ledger", envvar="DEPA_LEDGER_URL", help="Ledger base URL.")]
VkeyOpt = Annotated[
    str | None, typer.Option("--vkey", envvar="DEPA_VKEY", help="Pinned C2SP vkey, or a file holding it.")
]
StateOpt = Annotated[
    Path | None, typer.Option("--state", envvar="DEPA_STATE", help="File remembering the last checkpoint seen.")
]
KeyOpt = Annotated[Path, typer.Option("--key", envvar="DEPA_KEY", help="Signing key (Ed25519 PKCS#8 PEM).")]
ReaderOpt = Annotated[
    Path | None,
    typer.Option("--key", envvar="DEPA_KEY", help="Your party key (Ed25519 PEM): signs reads."),
]
ReceiptOpt = Annotated[Path | None, typer.Option("--receipt", help="Write the tlog-proof receipt here.")]
DEFAULT_URL = "http://127.0.0.1:8000"


def _client(ledger: str, vkey: str | None, state: Path | None, key: Path | None) -> LedgerClient:
    """A client that signs its reads with `key`, when one is given."""
    if vkey is None:
        vkey = fetch_vkey(ledger)
        err.print(f"[yellow]warning:[/] no --vkey pinned; trusting {vkey} as served by {ledger}")
    reader = Signer.load(key) if key is not None else None
    return LedgerClient(ledger, load_vkey(vkey), state_file=state, reader=reader)


def _show_receipt(receipt: Receipt, save: Path | None) -> None:
    """On stderr: stdout carries the command's own result (a digest, an id), so a script can capture it."""
    cp_size = receipt.checkpoint.split("\n")[1]
    err.print(f"logged as entry [bold]{receipt.seq}[/] ({receipt.statement_id}), in checkpoint of size {cp_size}")
    if save is not None:
        save.write_text(receipt.to_tlog_proof())
        err.print(f"receipt written to {save}")


def _result(text: str) -> None:
    """The command's result on stdout, exactly as given: one line a script can capture."""
    out.print(text, highlight=False, markup=False)


def _append(
    ledger: str, vkey: str | None, state: Path | None, key: Path, kind: str, body: dict[str, Any], save: Path | None
) -> Receipt:
    signer = Signer.load(key)
    body = {k: v for k, v in body.items() if v is not None}  # optional fields left out, not null
    with _client(ledger, vkey, state, key) as client:
        receipt = client.append(s.sign(signer, kind, body))
    _show_receipt(receipt, save)
    return receipt


@app.command()
def init(
    home: Annotated[Path, typer.Option(help="Folder for the ledger's keys, settings and database.")],
    origin: Annotated[str, typer.Option(help="Log origin, e.g. ledger.example.org/depa")],
) -> None:
    """Create a ledger home: operator key, checkpoint key, database; print the vkey."""
    from chain.ledger.home import init_home

    config = init_home(home, origin)
    err.print(f"ledger home {home} created; operator {config.operator}")
    out.print(config.vkey, highlight=False, soft_wrap=True)


@app.command()
def serve(
    home: Annotated[Path, typer.Option(help="The ledger home made by init.")],
    host: str = "127.0.0.1",
    port: int = 8000,
    read: Annotated[
        Literal["public", "parties"] | None,
        typer.Option(
            "--read",
            help="Who reads entries and views: parties (signed reads, the default) or public. "
            "Checkpoints and proofs are public either way. [env: DEPA_READ]",
        ),
    ] = None,
) -> None:
    """Serve a ledger over HTTP (OpenAPI at /docs)."""
    from chain.http_server import bind, run_server
    from chain.ledger.home import Settings, open_home
    from chain.ledger.service import create_app

    settings = Settings(read=read) if read else Settings()
    sock = bind(host, port)  # before anything says it serves
    ledger = open_home(home, settings)
    app = create_app(ledger, settings)
    err.print(f"serving {ledger.origin} ({ledger.info().size} entries) on http://{host}:{port}; vkey {ledger.vkey}")
    for name, path in _mount_apps(app, ledger):
        err.print(f"{name}: http://{host}:{port}{path}; reads: {settings.read}")
    run_server(app, sock, header_timeout=settings.header_timeout, limit_concurrency=settings.max_connections)


def _mount_apps(app: Any, ledger: Any) -> list[tuple[str, str]]:
    """What installed packages serve beside the ledger (the web console): found by entry point, so the ledger
    imports none of them. Each mounts itself and says what it serves, and where."""
    from importlib.metadata import entry_points

    return [ep.load()(app, ledger) for ep in entry_points(group="depa_chain.mounts")]


@app.command()
def fsck(
    home: Annotated[Path, typer.Option(help="The ledger home to check (the ledger need not run).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts and every inconsistency as JSON.")] = False,
) -> None:
    """Check a ledger home offline: every entry, node and checkpoint against the leaves.

    Exit 0: consistent; 1: inconsistencies, each named; 2: the home or its database could not be read."""
    from chain.ledger.home import check_home

    try:
        found = check_home(home)
    except DepaError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        _result(json.dumps({"consistent": not found.problems, "entries": found.entries, "nodes": found.nodes,
                            "checkpoints": found.checkpoints, "problems": found.problems}, indent=2))  # fmt: skip
    else:
        for problem in found.problems:
            out.print(f"[red]inconsistent:[/] {problem}", highlight=False)
    summary = f"{found.entries} entries, {found.nodes} nodes, {found.checkpoints} checkpoints checked"
    if found.problems:
        err.print(f"{len(found.problems)} inconsistencies in {home} ({summary})")
        raise typer.Exit(1)
    err.print(f"{home} is consistent: {summary}")


@keys_app.command("new")
def keys_new(
    name: str,
    directory: Annotated[Path, typer.Option("--dir", help="Where to write NAME.pem and NAME.age.")] = Path("."),
) -> None:
    """Make an Ed25519 signing key (NAME.pem) and an age identity (NAME.age), mode 0600.

    Prints the party's public card (name, DID, age recipient): send it to the ledger's operator, who registers
    it with `depa-chain party register NAME --card CARD`."""
    _card(name, *new_identity(directory, name))


@keys_app.command("show")
def keys_show(
    name: str,
    directory: Annotated[Path, typer.Option("--dir", help="Where NAME.pem and NAME.age are.")] = Path("."),
) -> None:
    """Print the public card of the keys `keys new` made: name, DID and age recipient."""
    _card(name, *load_identity(directory, name))


def _card(name: str, signer: Signer, recipient: str) -> None:
    _result(json.dumps({"name": name, "did": signer.did, "x25519": recipient}, indent=2))


@party_app.command("register")
def party_register(
    name: str,
    role: Annotated[list[str], typer.Option(help="TDP, TDC, CCRP, AUDITOR or OPERATOR (repeat).")],
    key: KeyOpt,
    card: Annotated[
        Path | None, typer.Option(help="The card `depa-chain keys new` printed for the party (its DID and recipient).")
    ] = None,
    did: Annotated[str | None, typer.Option(help="The party's did:key, if no --card.")] = None,
    x25519: Annotated[str | None, typer.Option(help="The party's age recipient (age1...), if no --card.")] = None,
    alias: Annotated[list[str] | None, typer.Option(help="Another name contracts use, e.g. a did:web.")] = None,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    receipt: ReceiptOpt = None,
) -> None:
    """Register a party (signed by the operator's key)."""
    if card is not None:
        shown = _read_json(card)
        if not isinstance(shown, dict) or not {"did", "x25519"} <= shown.keys():
            raise MalformedInput(f"{card} is not a party's card: `depa-chain keys new` prints one")
        did, x25519 = did or shown["did"], x25519 or shown["x25519"]
    if did is None or x25519 is None:
        raise MalformedInput("give the party's --card, or its --did and --x25519", remedy="see --help")
    body = {"did": did, "name": name, "roles": role, "x25519": x25519, "aliases": alias or None}
    _append(ledger, vkey, state, key, "party.register", body, receipt)


@party_app.command("list")
def party_list(
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    key: ReaderOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the parties as JSON.")] = False,
) -> None:
    """The registered parties: name, roles, DID, and whether they were revoked."""
    with _client(ledger, vkey, state, key) as client:
        parties = client.parties()
    if as_json:
        _result(json.dumps([p.model_dump(mode="json") for p in parties], indent=2))
        return
    table = Table("name", "roles", "did", "registered", "revoked")
    for p in parties:
        table.add_row(p.name, ", ".join(p.roles), p.did, f"entry {p.registered_seq}",
                      f"{p.revoked_at:%Y-%m-%d}: {p.revoke_reason}" if p.revoked_at else "")  # fmt: skip
    out.print(table)


def _read_text(path: Path) -> str:
    return read_file(path).decode()


def _read_json(path: Path) -> Any:
    return parse_json(read_file(path))


@contract_app.command("propose")
def contract_propose(
    file: Path,
    key: KeyOpt,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    receipt: ReceiptOpt = None,
) -> None:
    """Propose the contract in FILE (our schema, a superset of upstream contract.json)."""
    raw = _read_json(file)
    _append(ledger, vkey, state, key, "contract.propose", {"contract": raw}, receipt)
    _result(contract_id(raw))


@contract_app.command("import")
def contract_import(
    file: Path,
    key: KeyOpt,
    tdc: Annotated[str | None, typer.Option(help="The data consumer: a party's name, DID or alias.")] = None,
    tdp: Annotated[
        list[str] | None,
        typer.Option(help="A data provider, as OWNER=PARTY for the datasets of that owner, or PARTY for all (repeat)."),
    ] = None,
    ccrp: Annotated[str | None, typer.Option(help="The clean-room provider: a party's name, DID or alias.")] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="DATASET_ID=DIGEST: the registered dataset whose records it is (repeat).")
    ] = None,
    start: Annotated[str | None, typer.Option(help="When the terms start: now, or a date (2026-12-01).")] = None,
    expiry: Annotated[str | None, typer.Option(help="When they end: a date, or a time after the start (90d).")] = None,
    simulated_root: Annotated[
        list[str] | None,
        typer.Option(help="Admit this simulated TEE (INSECURE): the pin `depa-ccr simulator init` printed."),
    ] = None,
    base_model: Annotated[
        str | None,
        typer.Option(help="The consumer's registered model (a file, folder or digest): the only one runs may train."),
    ] = None,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    output: Annotated[Path | None, typer.Option("-o", help="Also write the filled contract here.")] = None,
) -> None:
    """Import an upstream DEPA contract.json: fill its parties, providers, sources and dates, check, propose.

    Parties are named as registered on the ledger (name, DID or alias); the contract holds their DIDs.
    Prints the contract id."""
    raw = _read_json(file)
    with _client(ledger, vkey, state, key) as client:
        parties = [p for p in client.parties() if p.revoked_at is None]
        did_of = {ref: p.did for p in parties for ref in (p.name, p.did, *p.aliases)}

        def party(ref: str, flag: str) -> str:
            if ref not in did_of:
                raise MalformedInput(f"{flag} {ref}: no registered party has that name, DID or alias",
                                     remedy="`depa-chain party list` shows who is registered")  # fmt: skip
            return did_of[ref]

        providers = {}
        for given in tdp or []:
            owner, sep, ref = given.rpartition("=")
            providers[owner if sep else ""] = party(ref, "--tdp")
        began = _moment(start, datetime.now(UTC), "--start") if start else None
        filling = Filling(
            tdc=party(tdc, "--tdc") if tdc else None,
            ccrp=party(ccrp, "--ccrp") if ccrp else None,
            providers=providers,
            sources=dict(_pair(given, "--source", "DATASET_ID=DIGEST") for given in source or []),
            start=began,
            expiry=_moment(expiry, began or _start_of(raw), "--expiry") if expiry else None,
            simulated_roots=simulated_root or [],
            base_model=_resolve(client, base_model) if base_model else None,
        )
        filled = fill_upstream(raw, filling)
        try:
            contract = Contract.model_validate(filled)
        except ValueError as exc:
            raise SchemaViolation(f"{file} is not a DEPA contract: {str(exc).splitlines()[0]}") from exc
        if contract.expiryTime <= datetime.now(UTC):
            raise MalformedInput(f"{file} expired on {contract.expiryTime:%Y-%m-%d}",
                                 remedy="set the terms the parties will sign with --expiry (and --start)")  # fmt: skip
        known = {ref for p in parties for ref in (p.did, *p.aliases)}
        missing = contract.missing_parties(known.__contains__)
        if missing:
            raise MalformedInput("cannot import: " + "; ".join(missing), remedy="name them with --tdc, --tdp, --ccrp")
        if output is not None:
            output.write_text(json.dumps(filled, indent=2) + "\n")
        _show_receipt(client.append(s.sign(Signer.load(key), "contract.propose", {"contract": filled})), None)
    _result(contract_id(filled))


def _pair(given: str, flag: str, shape: str) -> tuple[str, str]:
    name, sep, value = given.partition("=")
    if not sep or not name or not value:
        raise MalformedInput(f"{flag} {given!r} is not {shape}")
    return name, value


def _start_of(raw: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(raw["startTime"]).replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)


def _moment(given: str, base: datetime, flag: str) -> datetime:
    """`now`, a number of days after `base` (90d), or an ISO date or time (UTC unless it says otherwise)."""
    if given == "now":
        return datetime.now(UTC)
    if given.endswith("d") and given[:-1].isdigit():
        return base + timedelta(days=int(given[:-1]))
    try:
        at = datetime.fromisoformat(given)
    except ValueError:
        raise MalformedInput(f"{flag} {given!r} is not now, a number of days (90d) or a date (2026-12-01)") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@contract_app.command("sign")
def contract_sign(
    contract_id: str,
    key: KeyOpt,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    receipt: ReceiptOpt = None,
) -> None:
    """Sign a proposed contract as one of its named parties."""
    _append(ledger, vkey, state, key, "contract.sign", {"contract_id": contract_id}, receipt)


@contract_app.command("show")
def contract_show(
    contract_id: str,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    key: ReaderOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a contract's state, parties and signatures."""
    with _client(ledger, vkey, state, key) as client:
        view = client.contract(contract_id)
        names = {ref: p.name for p in client.parties() for ref in (p.did, *p.former_dids, *p.aliases)}
    if as_json:
        _result(view.model_dump_json(indent=2))
        return
    table = Table("party", "did", "signed", title=f"contract {view.id} - {_state_in_words(view, names)}")
    signed = {sig.party: sig for sig in view.signatures}
    for ref in [*signed, *view.unsigned]:
        sig = signed.get(ref)
        when = f"entry {sig.seq} at {sig.logged_at:%Y-%m-%d %H:%M:%S}" if sig else "[red]not yet[/]"
        table.add_row(names.get(ref, ""), ref, when)
    out.print(table)
    c = view.contract
    out.print(
        f"purpose {c.get('purpose')}, {len(c.get('datasets', []))} datasets, "
        f"valid {c.get('startTime')} to {c.get('expiryTime')}"
    )


def _state_in_words(view: ContractView, names: dict[str, str]) -> str:
    """Why the contract is in its state: who it waits for, since when it is in force, why it closed."""
    if view.state == "pending":
        return "pending: waiting for " + ", ".join(names.get(ref, ref) for ref in view.unsigned)
    if view.state == "active":
        return f"active since {view.activated_at:%Y-%m-%d %H:%M:%S}"
    if view.revoke_reason is not None:
        return f"closed: revoked on {view.closed_at:%Y-%m-%d} ({view.revoke_reason})"
    return f"closed: expired on {view.closed_at:%Y-%m-%d}"


@artefact_app.command("register")
def artefact_register(
    path: Path,
    key: KeyOpt,
    kind: Annotated[str, typer.Option(help="dataset, model, code, config or log")] = "dataset",
    name: Annotated[str | None, typer.Option(help="Name; defaults to the file name.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, parquet, safetensors, ...")] = None,
    derived_from: Annotated[list[str] | None, typer.Option(help="Digest of a parent artefact (repeat).")] = None,
    contract: Annotated[str | None, typer.Option(help="Contract id this artefact belongs to.")] = None,
    records: Annotated[
        int | None, typer.Option(min=1, help="A dataset's record count: contracts' delta stays within 1/(10 n).")
    ] = None,
    encrypted: Annotated[
        Path | None,
        typer.Option(help="The sealed file the clean room will receive (`depa-keys seal` wrote it): checked there."),
    ] = None,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    receipt: ReceiptOpt = None,
) -> None:
    """Register a file or folder by its SHA-256 digest (a folder hashes as a sorted manifest); print the digest."""
    digest, size = artefact_digest(path)
    encrypted_digest = artefact_digest(encrypted)[0] if encrypted is not None else None
    body = {
        "digest": digest,
        "name": name or path.name,
        "kind": kind,
        "format": fmt,
        "size": size,
        "derived_from": derived_from or None,
        "contract_id": contract,
        "records": records,
        "encrypted_digest": encrypted_digest,
    }
    _append(ledger, vkey, state, key, "artefact.register", body, receipt)
    _result(digest)


@artefact_app.command("open")
def artefact_open(
    sealed: Annotated[Path, typer.Argument(help="An output the clean room encrypted to you (FILE.age).")],
    identity: Annotated[Path, typer.Option("--identity", help="Your age identity (NAME.age from `keys new`).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the decrypted file.")],
) -> None:
    """Decrypt an output of a run; print its digest (`depa-chain verify` checks it against the ledger)."""
    import pyrage

    data, secret = read_file(sealed), read_identity(identity)
    try:
        plain = pyrage.decrypt(data, [pyrage.x25519.Identity.from_str(secret)])
    except pyrage.DecryptError as exc:
        raise MalformedInput(f"{sealed} does not decrypt with {identity}: it was encrypted to someone else") from exc
    output.write_bytes(plain)
    _result(sha256_digest(plain))


@artefact_app.command("cap")
def artefact_cap(
    digest: Annotated[str, typer.Argument(help="The dataset's digest, as `artefact register` printed it.")],
    key: KeyOpt,
    epsilon: Annotated[float, typer.Option(help="The dataset's epsilon across every contract that names it.")],
    delta: Annotated[float, typer.Option(help="The dataset's delta across every contract that names it.")],
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    receipt: ReceiptOpt = None,
) -> None:
    """Cap your dataset's privacy loss across all contracts (once): each contract naming it as a dataset's
    source draws its epsilon and delta from this cap when you sign it."""
    _append(ledger, vkey, state, key, "dataset.cap", {"dataset": digest, "epsilon": epsilon, "delta": delta}, receipt)
    err.print(f"dataset {digest} capped at epsilon {epsilon:g}, delta {delta:g} across contracts")


@app.command()
def lineage(
    artefact: Annotated[str, typer.Argument(help="The artefact: its file or folder (hashed here), or its digest.")],
    direction: Annotated[str, typer.Option(help="up, down or both")] = "both",
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    key: ReaderOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the lineage as JSON.")] = False,
) -> None:
    """Show where an artefact came from and what was made from it."""
    if direction not in ("up", "down", "both"):
        raise MalformedInput("--direction is up, down or both")
    with _client(ledger, vkey, state, key) as client:
        digest = _resolve(client, artefact)
        try:
            found = client.lineage(digest, direction)  # type: ignore[arg-type]
        except NotFound as exc:
            raise NotFound(exc.detail, remedy=f"`depa-chain find {artefact}` says what it is, if anything") from None
    if as_json:
        _result(found.model_dump_json(indent=2))
    else:
        out.print(lineage_tree(found.graph()))


def _resolve(client: LedgerClient, artefact: str) -> str:
    """A full digest for what the user gave: a file or folder (hashed here), a digest, or the start of one that
    names exactly one registered artefact."""
    digest = _digest_of(artefact)
    if len(digest) == 71:
        return digest
    found = client.digests_starting(digest)
    if not found:
        raise NotFound(f"no artefact's digest starts with {digest}")
    if len(found) > 1:
        raise MalformedInput(f"{digest} starts {len(found)} artefacts' digests: {', '.join(found)}",
                             remedy="give more of the digest")  # fmt: skip
    return found[0]


def _digest_of(artefact: str) -> str:
    """An artefact's digest: as given, or computed from the file or folder it names."""
    if artefact.startswith("sha256:"):
        return artefact
    path = Path(artefact)
    if not path.exists():
        raise MalformedInput(f"{artefact} is neither a file nor a sha256: digest")
    return artefact_digest(path)[0]


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="The file or folder to check.")],
    receipt: Annotated[
        Path | None, typer.Option("--receipt", help="Check offline against this tlog-proof receipt instead.")
    ] = None,
    save_receipt: Annotated[Path | None, typer.Option(help="Write the registration's receipt here.")] = None,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    key: ReaderOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Check that a file is a registered artefact: its digest, its registration and the registration's inclusion
    in the log. With --receipt, offline, with nothing but the ledger's vkey (like cosign verify-blob)."""
    digest, _ = artefact_digest(file)
    if receipt is not None:
        if vkey is None:
            raise MalformedInput("an offline check needs the ledger's --vkey (or DEPA_VKEY)")
        proof, pinned = Receipt.from_tlog_proof(_read_text(receipt)), load_vkey(vkey)
    else:
        with _client(ledger, vkey, state, key) as client:
            proof, pinned = client.receipt(client.artefact(digest).seq), client.vkey
    cp, logged = proof.verify(pinned)  # the entry and checkpoint a receipt holds come out of its verification
    where = f"{'offline, ' if receipt is not None else ''}in {cp.origin} at size {cp.size}"
    body = logged.statement.get("body") or {}
    if logged.statement.get("typ") != s.typ_of("artefact.register") or body.get("digest") != digest:
        raise VerificationError(f"{file} ({digest}) is not what entry {logged.seq} registers")
    if save_receipt is not None:
        save_receipt.write_text(proof.to_tlog_proof())
        err.print(f"receipt written to {save_receipt}")
    if as_json:
        verdict = {"verified": True, "file": str(file), "digest": digest, "name": body.get("name"),
                   "kind": body.get("kind"), "seq": logged.seq, "issuer": logged.statement.get("iss"),
                   "produced_by": body.get("produced_by"), "origin": cp.origin, "size": cp.size,
                   "offline": receipt is not None}  # fmt: skip
        _result(json.dumps(verdict, indent=2))
        return
    made = f", made by run {body['produced_by']}" if body.get("produced_by") else ""
    out.print(
        f"[green]verified[/]: {file} is {body.get('kind')} {body.get('name')!r} ({digest}), registered at entry "
        f"{logged.seq} by {logged.statement.get('iss')}{made}; {where}",
        highlight=False,
    )


@entry_app.command("get")
def entry_get(
    which: Annotated[str, typer.Argument(help="The entry's number, or the id of the statement it logged.")],
    save_receipt: Annotated[Path | None, typer.Option(help="Write the entry's receipt here.")] = None,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    key: ReaderOpt = None,
) -> None:
    """Print a logged entry as JSON (seq, logged_at, the signed statement), proven included in the log."""
    with _client(ledger, vkey, state, key) as client:
        seq = int(which) if which.isdigit() else client.seq_of(which)
        logged, _ = client.proven(seq)
        if save_receipt is not None:
            save_receipt.write_text(client.receipt(seq).to_tlog_proof())
            err.print(f"receipt written to {save_receipt}")
    err.print(f"entry {seq}: included in the log and signed by its issuer (checked)")
    _result(json.dumps({"seq": logged.seq, "logged_at": entry.timestamp(logged.logged_at),
                        "statement": logged.statement}, indent=2))  # fmt: skip


@app.command()
def find(
    what: Annotated[str, typer.Argument(help="An entry number, a statement id, a digest, a contract id, or a file.")],
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    key: ReaderOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print each match as JSON.")] = False,
) -> None:
    """Say what something is on this ledger: an entry, a statement, an artefact or a contract (all that match)."""
    found: list[tuple[str, dict[str, Any]]] = []  # one line for people, one document for scripts
    with _client(ledger, vkey, state, key) as client:
        if what.isdigit():
            logged, st = client.proven(int(what))
            at = entry.timestamp(logged.logged_at)
            doc = {"is": "entry", "seq": logged.seq, "logged_at": at, "statement": logged.statement}
            found.append((f"entry {logged.seq}: {st.kind} by {st.iss}, logged {at}", doc))
        else:
            digest = _resolve(client, what)

            def artefact() -> tuple[str, dict[str, Any]]:
                a = client.artefact(digest)
                made = f", made by run {a.produced_by}" if a.produced_by else ""
                line = f"artefact {a.name!r} ({a.kind}), registered at entry {a.seq} by {a.owner}{made}"
                return line, {"is": "artefact", **a.model_dump(mode="json")}

            def contract() -> tuple[str, dict[str, Any]]:
                c = client.contract(digest)
                line = f"contract {c.contract.get('id')!r}: {c.state}, proposed at entry {c.proposed_seq}"
                return line, {"is": "contract", **c.model_dump(mode="json")}

            def statement() -> tuple[str, dict[str, Any]]:
                seq = client.seq_of(digest)
                return f"statement logged as entry {seq} (depa-chain entry get {digest})", {"is": "statement",
                                                                                          "seq": seq}  # fmt: skip

            for lookup in (artefact, contract, statement):
                try:
                    found.append(lookup())
                except NotFound:
                    continue
    if not found:
        raise NotFound(f"nothing on this ledger is {what}: no entry, statement, artefact or contract")
    if as_json:
        _result(json.dumps([doc for _, doc in found], indent=2))
        return
    for line, _ in found:
        _result(line)


@app.command()
def checkpoint(
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checkpoint as JSON.")] = False,
) -> None:
    """Fetch, verify and print the latest checkpoint (consistent with the last one remembered)."""
    with _client(ledger, vkey, state, None) as client:
        cp = client.checkpoint()
        note = client.last
    if as_json:
        _result(json.dumps({"origin": cp.origin, "size": cp.size, "root": b64(cp.root), "note": note}, indent=2))
    else:
        out.print(note, end="", highlight=False, markup=False)
    err.print(f"verified: size {cp.size}")


@receipt_app.command("verify")
def receipt_verify(
    file: Path,
    vkey: Annotated[str, typer.Option("--vkey", envvar="DEPA_VKEY", help="The ledger's C2SP vkey, or a file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict and the entry as JSON.")] = False,
) -> None:
    """Verify a tlog-proof receipt offline, with nothing but the ledger's vkey."""
    cp, logged = Receipt.from_tlog_proof(_read_text(file)).verify(load_vkey(vkey))
    st = logged.statement
    if as_json:
        verdict = {"verified": True, "origin": cp.origin, "size": cp.size, "seq": logged.seq,
                   "logged_at": entry.timestamp(logged.logged_at), "statement": st}  # fmt: skip
        _result(json.dumps(verdict, indent=2))
        return
    out.print(
        f"[green]verified[/]: entry {logged.seq} ({st.get('typ')} by {st.get('iss')}) "
        f"is in {cp.origin} at size {cp.size}, logged at {logged.logged_at:%Y-%m-%dT%H:%M:%SZ}"
    )


_add_commands()


def main() -> None:
    """Entry point: every error becomes one line on stderr and a non-zero exit."""
    run(app)
