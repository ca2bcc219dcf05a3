"""Transports: how a message leaves the platform (e-mail, 企业微信 group robot, signed webhook,
SMS in :mod:`timebank.notify.sms`).

A transport has one method, ``send(outgoing, recipient) -> Result``, and raises
:class:`TransportError` with ``retryable`` saying whether trying again later may help (a timeout,
a 5xx, a rate limit) or not (a refused address, bad credentials). Error texts never carry a URL
(the robot's key is in it), a password or a code: they end up in the delivery log.

Transports take plain values (no Flask, no session), so the job, ``send_code`` and the tests
use them alike. :func:`build_transports` reads the settings and names a wrong one clearly.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


class TransportError(Exception):
    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ConfigError(ValueError):
    """A delivery setting is missing or wrong; the message names the TIMEBANK_* variable."""


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """What to send: an inbox message, or a one-time code (``kind == "code"``)."""

    subject: str
    body: str = ""
    link: str | None = None
    kind: str = "message"
    #: One-time codes only; never logged or stored.
    code: str | None = None
    purpose: str | None = None
    #: Delivery row id, sent along where the receiver can use it to drop duplicates.
    delivery_id: int | None = None
    message_id: int | None = None


@dataclasses.dataclass(frozen=True)
class Recipient:
    user_id: int | None = None
    name: str = ""
    phone: str | None = None
    email: str | None = None


@dataclasses.dataclass(frozen=True)
class Result:
    #: The provider's id for what it accepted, when it returns one.
    provider_id: str | None = None


def message_text(outgoing: Outgoing, limit: int | None = None) -> str:
    parts = [outgoing.subject]
    if outgoing.body:
        parts.append(outgoing.body)
    if outgoing.link:
        parts.append(outgoing.link)
    text = "\n".join(parts)
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"


# --- e-mail --------------------------------------------------------------------------------------

SMTP_SECURITY = ("starttls", "ssl", "none")
SMTP_DEFAULT_PORT = {"starttls": 587, "ssl": 465, "none": 25}


class EmailTransport:
    channel = "email"

    def __init__(self, host: str, port: int, sender: str, security: str = "starttls",
                 user: str = "", password: str = "", ca_file: str = "",
                 timeout: float = 10) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.security, self.user, self.password = security, user, password
        self.ca_file, self.timeout = ca_file, timeout

    def secrets(self) -> list[str]:
        return [self.password] if self.password else []

    def carries(self, kind: str) -> bool:
        return True

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)

    def send(self, outgoing: Outgoing, recipient: Recipient) -> Result:
        if not recipient.email:
            raise TransportError("no e-mail address", retryable=False)
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = recipient.email
        mail["Subject"] = outgoing.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = msgid = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        if outgoing.kind == "code":
            mail.set_content(f"{outgoing.subject}\n\n{outgoing.code}\n")
        else:
            mail.set_content(message_text(outgoing) + "\n")
        try:
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        context=self._context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=self._context())
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as e:
            raise TransportError(f"SMTP login refused ({e.smtp_code})", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as e:
            codes = [c for c, _m in e.recipients.values()]
            raise TransportError(f"SMTP recipient refused ({codes[0] if codes else '?'})",
                                 retryable=all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPNotSupportedError:
            raise TransportError("SMTP server does not offer STARTTLS "
                                 "(TIMEBANK_SMTP_SECURITY)", retryable=False) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
            raise TransportError(f"SMTP refused the message ({e.smtp_code})",
                                 retryable=400 <= e.smtp_code < 500) from None
        except ssl.SSLCertVerificationError as e:
            raise TransportError(f"SMTP certificate not trusted: {e.verify_message}",
                                 retryable=False) from None
        except (smtplib.SMTPException, OSError) as e:
            raise TransportError(f"SMTP connection failed: {type(e).__name__}") from None
        return Result(provider_id=msgid)


# --- HTTP ----------------------------------------------------------------------------------------

def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """POST ``body``; returns (status, body) of a 2xx answer, raises TransportError otherwise.

    The URL is never part of an error (a robot's key or a token may be in its query)."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(1 << 16)
    except urllib.error.HTTPError as e:
        e.close()
        raise TransportError(f"HTTP {e.code}", retryable=e.code >= 500 or e.code in (408, 429)) \
            from None
    except (urllib.error.URLError, socket.timeout, OSError) as e:
        reason = getattr(e, "reason", e)
        raise TransportError(f"connection failed: {type(reason).__name__}") from None


def _json_answer(raw: bytes) -> dict:
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise TransportError("answer is not JSON") from None
    if not isinstance(answer, dict):
        raise TransportError("answer is not a JSON object")
    return answer


def check_url(name: str, value: str) -> None:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an http:// or https:// URL")


# --- 企业微信 group robot -------------------------------------------------------------------------

#: 企业微信 errcodes worth another try: -1 system busy, 45009 the robot's rate limit (20/min).
WECOM_RETRYABLE = {-1, 45009}
WECOM_LIMIT = 2000  # the robot takes up to 2048 bytes of text; stay below in characters


class WecomRobotTransport:
    """Posts to a 企业微信 group robot; the member is @-mentioned by their mobile number."""

    channel = "wecom"

    def __init__(self, url: str, timeout: float = 10) -> None:
        self.url, self.timeout = url, timeout

    def secrets(self) -> list[str]:
        return [self.url, *urllib.parse.parse_qs(urllib.parse.urlsplit(self.url).query)
                .get("key", [])]

    def carries(self, kind: str) -> bool:
        # A group sees what the robot posts: a one-time code must never go there.
        return kind != "code"

    def send(self, outgoing: Outgoing, recipient: Recipient) -> Result:
        if outgoing.kind == "code":
            raise TransportError("one-time codes never go to a group", retryable=False)
        text: dict = {"content": message_text(outgoing, WECOM_LIMIT)}
        if recipient.phone:
            text["mentioned_mobile_list"] = [recipient.phone]
        body = json.dumps({"msgtype": "text", "text": text}, ensure_ascii=False).encode()
        _status, raw = post(self.url, body, {}, self.timeout)
        answer = _json_answer(raw)
        errcode = answer.get("errcode", 0)
        if errcode != 0:
            raise TransportError(f"WeCom errcode {errcode}: {str(answer.get('errmsg', ''))[:80]}",
                                 retryable=errcode in WECOM_RETRYABLE)
        return Result()


# --- signed webhook ------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-Timebank-Signature"
TIMESTAMP_HEADER = "X-Timebank-Timestamp"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>." + body>``; the receiver recomputes it and
    refuses stale timestamps, so a captured request cannot be replayed later."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class SignedWebhookTransport:
    """POSTs JSON to the district's own platform (which may forward to an app or SMS gateway)."""

    channel = "webhook"

    def __init__(self, url: str, secret: str, timeout: float = 10) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout

    def secrets(self) -> list[str]:
        return [self.url, self.secret]

    def carries(self, kind: str) -> bool:
        return True

    def send(self, outgoing: Outgoing, recipient: Recipient) -> Result:
        payload = {
            "event": outgoing.kind,
            "delivery_id": outgoing.delivery_id,
            "message_id": outgoing.message_id,
            "recipient": {"user_id": recipient.user_id, "name": recipient.name,
                          "phone": recipient.phone, "email": recipient.email},
            "subject": outgoing.subject,
            "body": outgoing.body,
            "link": outgoing.link,
        }
        if outgoing.kind == "code":
            payload.update(code=outgoing.code, purpose=outgoing.purpose)
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        post(self.url, body, {TIMESTAMP_HEADER: timestamp,
                              SIGNATURE_HEADER: webhook_signature(self.secret, timestamp, body)},
             self.timeout)
        return Result()
