"""The hash chain: sha256 over a transaction's canonical content and the previous hash.

Canonical content is JSON with sorted keys and no spaces, the time as an ISO UTC string with
microseconds, and the postings as sorted (account id, amount) pairs, so the same rows always
give the same bytes on SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

GENESIS_HASH = "0" * 64


def _time(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def canonical(*, id: int, kind: str, created_at: dt.datetime, actor_id: int | None, reason: str,
              source_type: str | None, source_id: int | None, idempotency_key: str,
              reverses_id: int | None, beneficiary_id: int | None,
              service_account_id: int | None, service_minutes: int,
              postings: list[tuple[int, int]], prev_hash: str) -> bytes:
    content = {
        "id": id, "kind": kind, "created_at": _time(created_at), "actor_id": actor_id,
        "reason": reason, "source_type": source_type, "source_id": source_id,
        "idempotency_key": idempotency_key, "reverses_id": reverses_id,
        "beneficiary_id": beneficiary_id, "service_account_id": service_account_id,
        "service_minutes": service_minutes,
        "postings": sorted([int(a), int(m)] for a, m in postings),
        "prev_hash": prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def transaction_hash(**fields) -> str:
    return hashlib.sha256(canonical(**fields)).hexdigest()
