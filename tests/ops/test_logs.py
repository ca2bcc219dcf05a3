"""Logs: JSON lines with the request id (``X-Request-ID`` in and out) and no passwords, phone
numbers or ID card numbers, wherever they come from (message, arguments, tracebacks)."""
from __future__ import annotations

import io
import json
import logging
import re

import pytest

from timebank.ops import logs


@pytest.mark.parametrize(("raw", "masked"), [
    ("login for 13812345678 failed", "login for [phone] failed"),
    ("call +86 13912345678 or 8613712345678", "call [phone] or [phone]"),
    ("id 11010519491231002X ok", "id [id-number] ok"),
    ("old id 110105491231002", "old id [id-number]"),
    ("password=hunter2 next=/x", "password=[redacted] next=/x"),
    ('{"password": "hunter 2", "phone": "13800000005"}',
     '{"password": [redacted], "phone": "[phone]"}'),
    ("new_password='x y z' token: abc.def", "new_password=[redacted] token: [redacted]"),
])
def test_redact_masks_secrets_phones_and_id_numbers(raw, masked):
    assert logs.redact(raw) == masked


@pytest.mark.parametrize("text", [
    "district 310199 on 2026-12-07 at 09:30, 120 minutes, run 12345",
    "transaction 1234567890 of account 42",
    "hash 3f2a9c1b8e7d6f5a4c3b2a1908f7e6d5c4b3a291",
])
def test_redact_leaves_ordinary_figures_alone(text):
    assert logs.redact(text) == text


@pytest.fixture
def json_log():
    """A JSON handler on the root logger, as ``TIMEBANK_LOG_FORMAT=json`` installs it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logs.install(handler, "json")
    root = logging.getLogger()
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.INFO)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(old)


def test_json_lines_carry_the_request_id_and_no_personal_data(app, json_log):
    log = logging.getLogger("timebank.test")
    with app.test_request_context("/x", headers={"X-Request-ID": "req-abc.123"}):
        log.info("login %s with password=%s id %s", "13812345678", "hunter2",
                 "11010519491231002X")
        try:
            raise ValueError("bad row: phone 13900001111, 身份证 110105194912310021")
        except ValueError:
            log.exception("import failed")
    log.warning("outside any request")
    first, second, third = json_log()
    assert first["request_id"] == "req-abc.123" and first["level"] == "INFO"
    assert first["logger"] == "timebank.test"
    assert first["message"] == "login [phone] with password=[redacted] id [id-number]"
    assert second["request_id"] == "req-abc.123" and "ValueError" in second["exc"]
    assert "[phone]" in second["exc"] and "[id-number]" in second["exc"]
    assert third["request_id"] == "-"
    text = json.dumps(json_log(), ensure_ascii=False)
    for secret in ("13812345678", "hunter2", "11010519491231002X", "13900001111",
                   "110105194912310021"):
        assert secret not in text


def test_the_request_id_goes_in_and_out(client):
    given = client.get("/healthz", headers={"X-Request-ID": "edge-42"})
    assert given.headers["X-Request-ID"] == "edge-42"
    made = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    assert client.get("/healthz").headers["X-Request-ID"] != made.headers["X-Request-ID"]
    # Anything but a plain token (header injection, a novel) is replaced by a fresh id.
    for bad in ("a b", "x" * 65, "id;rm -rf", "<script>"):
        got = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert got != bad and re.fullmatch(r"[0-9a-f]{32}", got)
