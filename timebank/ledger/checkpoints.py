"""Signed checkpoints of the ledger's hash chain, kept where the database cannot reach.

The chain proves that no transaction inside it was changed, but not that none was cut off the
end: deleting the newest transactions (and fixing the cached balances) leaves a shorter chain
that still verifies. A checkpoint records (transaction count, head id, head hash, time), signed
with HMAC-SHA256 under ``TIMEBANK_LEDGER_CHECKPOINT_KEY`` (generated once into
``instance/ledger_checkpoint_key``, mode 0600, like the app's other keys). It is appended to an
append-only JSON-lines file under the instance path (``TIMEBANK_LEDGER_CHECKPOINT_FILE``),
written to the log, and, when ``TIMEBANK_LEDGER_WITNESS_URL`` is set, POSTed there as JSON.

:func:`check` (run by ``verification.verify``) then demands that every line carries a valid
signature and that the chain still holds the checkpointed transaction at that position with that hash.
Whoever can rewrite the ledger's tables but not the instance folder (or the witness) cannot hide
a truncated tail.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import urllib.request
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from timebank.core import clock
from timebank.ledger.hashing import GENESIS_HASH
from timebank.ledger.models import TRANSACTIONS

log = logging.getLogger(__name__)

VERSION = 1
WITNESS_TIMEOUT = 10  # seconds


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    transactions: int
    head_id: int
    head_hash: str
    at: str

    def payload(self) -> dict:
        return {"v": VERSION, "transactions": self.transactions, "head_id": self.head_id,
                "head_hash": self.head_hash, "at": self.at}


@dataclasses.dataclass(frozen=True)
class Written:
    checkpoint: Checkpoint
    #: False when the last checkpoint already named the same head (a job run twice).
    written: bool
    #: "" when no witness is configured, else what the witness POST did.
    witness: str = ""

    def summary(self) -> str:
        c = self.checkpoint
        text = (f"checkpoint {c.transactions} transactions, head {c.head_id}:"
                f"{c.head_hash[:16]}" + ("" if self.written else " (unchanged, not rewritten)"))
        return f"{text}; {self.witness}" if self.witness else text


def path() -> Path:
    return Path(current_app.config["TIMEBANK_LEDGER_CHECKPOINT_FILE"])


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def sign(payload: dict, secret: str | None = None) -> str:
    key = (secret or current_app.config["TIMEBANK_LEDGER_CHECKPOINT_KEY"]).encode()
    return hmac.new(key, b"timebank ledger checkpoint v1\x00" + _canonical(payload),
                    hashlib.sha256).hexdigest()


def line_for(checkpoint: Checkpoint) -> str:
    payload = checkpoint.payload()
    return json.dumps({**payload, "sig": sign(payload)}, sort_keys=True, separators=(",", ":"))


@dataclasses.dataclass(frozen=True)
class Line:
    number: int
    checkpoint: Checkpoint | None
    #: Why the line cannot be trusted ("" when it can).
    error: str = ""


def read() -> list[Line]:
    """Every line of the file, each parsed and its signature checked."""
    file = path()
    if not file.exists():
        return []
    out = []
    with file.open(encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            text = text.strip()
            if not text:
                continue
            try:
                data = json.loads(text)
                sig = data.pop("sig")
                checkpoint = Checkpoint(int(data["transactions"]), int(data["head_id"]),
                                        str(data["head_hash"]), str(data["at"]))
                if data != checkpoint.payload():
                    raise ValueError("unexpected fields")
            except (ValueError, KeyError, TypeError, AttributeError):
                out.append(Line(number, None, "unreadable"))
                continue
            if not hmac.compare_digest(str(sig), sign(checkpoint.payload())):
                out.append(Line(number, checkpoint, "bad signature"))
                continue
            out.append(Line(number, checkpoint))
    return out


def current(conn) -> Checkpoint:
    """The checkpoint of the chain as ``conn`` sees it now."""
    count = int(conn.execute(select(func.count()).select_from(TRANSACTIONS)).scalar_one())
    row = conn.execute(select(TRANSACTIONS.c.id, TRANSACTIONS.c.hash)
                       .order_by(TRANSACTIONS.c.id.desc()).limit(1)).first()
    head_id, head_hash = (int(row.id), row.hash) if row else (0, GENESIS_HASH)
    return Checkpoint(count, head_id, head_hash,
                      clock.now().astimezone(dt.timezone.utc).isoformat(timespec="seconds"))


def write(conn) -> Written:
    """Append a checkpoint of the chain as ``conn`` sees it (the caller has verified it).

    Idempotent: when the newest valid line already names the same head, nothing is written.
    """
    checkpoint = current(conn)
    valid = [ln.checkpoint for ln in read() if not ln.error]
    if valid and (valid[-1].transactions, valid[-1].head_id, valid[-1].head_hash) == (
            checkpoint.transactions, checkpoint.head_id, checkpoint.head_hash):
        return Written(valid[-1], written=False)
    line = line_for(checkpoint)
    file = path()
    file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    log.info("ledger checkpoint %s", line)
    return Written(checkpoint, written=True, witness=_send_to_witness(line))


def _send_to_witness(line: str) -> str:
    url = current_app.config.get("TIMEBANK_LEDGER_WITNESS_URL") or ""
    if not url:
        return ""
    request = urllib.request.Request(url, data=line.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=WITNESS_TIMEOUT) as response:
            status = response.status
    except Exception as e:  # noqa: BLE001  (any failure is recorded, none stops the job)
        log.warning("ledger checkpoint witness %s failed: %s", url, e)
        return f"witness failed: {e}"
    if not 200 <= status < 300:
        log.warning("ledger checkpoint witness %s answered HTTP %s", url, status)
        return f"witness failed: HTTP {status}"
    return f"witness ok (HTTP {status})"


def check(conn, problem) -> None:
    """Report, through ``problem(code, message, transaction_id=None)``, every checkpoint line
    that is unreadable or forged, and every one whose transaction the chain no longer holds
    at that position with that hash (a cut-off or rebuilt tail)."""
    lines = read()
    count = int(conn.execute(select(func.count()).select_from(TRANSACTIONS)).scalar_one())
    wanted = sorted({ln.checkpoint.head_id for ln in lines if not ln.error
                     and ln.checkpoint.head_id > 0})
    hashes: dict[int, str] = {}
    for i in range(0, len(wanted), 500):
        hashes.update(conn.execute(select(TRANSACTIONS.c.id, TRANSACTIONS.c.hash)
                                   .where(TRANSACTIONS.c.id.in_(wanted[i:i + 500]))).all())
    for ln in lines:
        where = f"checkpoint line {ln.number}"
        if ln.error == "unreadable":
            problem("checkpoint_unreadable", f"{where} of {path()} cannot be read")
            continue
        c = ln.checkpoint
        if ln.error:
            problem("checkpoint_forged", f"{where} ({c.at}) has a bad signature: it was not "
                    "written by this instance")
            continue
        if count < c.transactions or (c.head_id > 0 and c.head_id not in hashes):
            problem("chain_truncated", f"{where} ({c.at}) recorded {c.transactions} "
                    f"transactions up to {c.head_id}; the ledger now has {count}: its tail "
                    "was cut off", transaction_id=c.head_id or None)
        elif c.head_id > 0 and hashes[c.head_id] != c.head_hash:
            problem("checkpoint_mismatch", f"{where} ({c.at}) recorded another hash for this "
                    "transaction: the chain was rewritten from here or earlier",
                    transaction_id=c.head_id)
