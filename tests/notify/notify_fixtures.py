"""Real local servers for the transports: SMTP (aiosmtpd, plain, STARTTLS and implicit TLS with
a throw-away certificate) and HTTP (the 企业微信 robot, the signed webhook and the Tencent Cloud
SMS endpoint, each checking what a real one checks)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import ipaddress
import json
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

WEBHOOK_SECRET = "webhook-secret-0123456789"
SMS_SECRET_ID = "AKIDtestsecretid"
SMS_SECRET_KEY = "sms-secret-key-abcdef"


# --- HTTP ----------------------------------------------------------------------------------------

@dataclasses.dataclass
class Request:
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


class HttpServer:
    """Answers POSTs with ``respond(request) -> (status, dict)``; ``fail_first`` answers first
    with the given (status, dict) pairs, in order. Every request is kept in ``requests``."""

    def __init__(self, respond: Callable[[Request], tuple[int, dict]]) -> None:
        self.respond = respond
        self.fail_first: list[tuple[int, dict]] = []
        self.requests: list[Request] = []
        #: Requests answered with success (what reached the person).
        self.accepted: list[Request] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                req = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if outer.delay:
                    threading.Event().wait(outer.delay)
                with outer.lock:
                    outer.requests.append(req)
                    status, answer = (outer.fail_first.pop(0) if outer.fail_first
                                      else outer.respond(req))
                    if status == 200 and not answer.get("errcode") and "Error" not in (
                            answer.get("Response") or {}):
                        outer.accepted.append(req)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _serve(respond):
    server = HttpServer(respond)
    yield server
    server.close()


@pytest.fixture
def wecom_server():
    def respond(req):
        payload = req.json()
        if payload.get("msgtype") != "text" or not payload.get("text", {}).get("content"):
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        if "key=robot-key" not in req.path:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        return 200, {"errcode": 0, "errmsg": "ok"}
    yield from _serve(respond)


def check_webhook_signature(req) -> bool:
    timestamp = req.headers.get("x-timebank-timestamp", "")
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + req.body,
                                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, req.headers.get("x-timebank-signature", ""))


@pytest.fixture
def webhook_server():
    def respond(req):
        if not check_webhook_signature(req):
            return 401, {"error": "bad signature"}
        return 200, {"ok": True}
    yield from _serve(respond)


def _tc3_expected(req) -> str:
    """The receiving side of TC3-HMAC-SHA256, written from Tencent's description."""
    ts = int(req.headers["x-tc-timestamp"])
    day = dt.datetime.utcfromtimestamp(ts).date().isoformat()
    canonical = (f"POST\n/\n\ncontent-type:{req.headers['content-type']}\n"
                 f"host:{req.headers['host']}\nx-tc-action:{req.headers['x-tc-action'].lower()}\n"
                 f"\ncontent-type;host;x-tc-action\n{hashlib.sha256(req.body).hexdigest()}")
    to_sign = (f"TC3-HMAC-SHA256\n{ts}\n{day}/sms/tc3_request\n"
               f"{hashlib.sha256(canonical.encode()).hexdigest()}")
    key = ("TC3" + SMS_SECRET_KEY).encode()
    for part in (day, "sms", "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"TC3-HMAC-SHA256 Credential={SMS_SECRET_ID}/{day}/sms/tc3_request, "
            f"SignedHeaders=content-type;host;x-tc-action, Signature={signature}")


@pytest.fixture
def sms_server():
    def respond(req):
        if req.headers.get("authorization") != _tc3_expected(req):
            return 200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
                                                "Message": "signature mismatch"},
                                      "RequestId": "r1"}}
        if (req.headers.get("x-tc-action") != "SendSms"
                or req.headers.get("x-tc-version") != "2021-01-11"):
            return 200, {"Response": {"Error": {"Code": "InvalidAction"}, "RequestId": "r2"}}
        body = req.json()
        return 200, {"Response": {"SendStatusSet": [
            {"SerialNo": "2640:1", "PhoneNumber": body["PhoneNumberSet"][0], "Fee": 1,
             "Code": "Ok", "Message": "send success"}], "RequestId": "r3"}}
    yield from _serve(respond)


# --- SMTP ----------------------------------------------------------------------------------------

class MailHandler:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        #: SMTP answers to DATA before accepting, in order (e.g. "451 4.3.0 try later").
        self.fail_first: list[str] = []
        self.refuse_rcpt: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_first:
            return self.fail_first.pop(0)
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 Message accepted"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (cert file doubles as the CA file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@dataclasses.dataclass
class SmtpServer:
    handler: MailHandler
    port: int
    mode: str


def _server_context(tls_files) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*tls_files)
    return ctx


@pytest.fixture
def smtp_server(request, tls_files):
    """``smtp_server`` (plain); parametrize indirectly with "starttls" or "ssl" for TLS. With
    STARTTLS the server also asks for a login (user "mailer", password "mail-password")."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    mode = getattr(request, "param", "none")
    handler = MailHandler()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"mailer", b"mail-password")
        return AuthResult(success=ok, handled=False)

    kwargs: dict = {}
    if mode == "starttls":
        kwargs = {"tls_context": _server_context(tls_files), "require_starttls": True,
                  "authenticator": authenticator, "auth_require_tls": True}
    elif mode == "ssl":
        kwargs = {"ssl_context": _server_context(tls_files)}
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), **kwargs)
    controller.start()
    yield SmtpServer(handler, controller.port, mode)
    controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def notify_config(app, tls_files):
    """``notify_config(smtp=..., wecom=..., webhook=..., sms=...)`` points the app at the
    servers given (and switches the other channels off)."""
    def configure(smtp=None, wecom=None, webhook=None, sms=None, **extra):
        cfg = app.config
        cfg.update(MAIL_SERVER="", TIMEBANK_WECOM_WEBHOOK_URL="", TIMEBANK_WEBHOOK_URL="",
                   TIMEBANK_SMS_SECRET_ID="", TIMEBANK_NOTIFY_BACKOFF_SECONDS=60,
                   TIMEBANK_NOTIFY_MAX_ATTEMPTS=4, TIMEBANK_NOTIFY_TIMEOUT=5)
        if smtp is not None:
            cfg.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port,
                       MAIL_SENDER="timebank@example.org", TIMEBANK_SMTP_SECURITY=smtp.mode,
                       TIMEBANK_SMTP_CA_FILE=tls_files[0] if smtp.mode != "none" else "",
                       TIMEBANK_SMTP_USER="mailer" if smtp.mode == "starttls" else "",
                       TIMEBANK_SMTP_PASSWORD="mail-password" if smtp.mode == "starttls" else "")
        if wecom is not None:
            cfg["TIMEBANK_WECOM_WEBHOOK_URL"] = f"{wecom.url}/cgi-bin/webhook/send?key=robot-key"
        if webhook is not None:
            cfg.update(TIMEBANK_WEBHOOK_URL=f"{webhook.url}/hook",
                       TIMEBANK_WEBHOOK_SECRET=WEBHOOK_SECRET)
        if sms is not None:
            cfg.update(TIMEBANK_SMS_SECRET_ID=SMS_SECRET_ID, TIMEBANK_SMS_SECRET_KEY=SMS_SECRET_KEY,
                       TIMEBANK_SMS_APP_ID="1400000000", TIMEBANK_SMS_SIGN_NAME="滨河区时间银行",
                       TIMEBANK_SMS_TEMPLATE_ID="100001", TIMEBANK_SMS_CODE_TEMPLATE_ID="100002",
                       TIMEBANK_SMS_ENDPOINT=sms.url)
        cfg.update(extra)
        return cfg
    return configure
