"""Tencent Cloud SMS (腾讯云短信) ``SendSms``, version 2021-01-11, signed with TC3-HMAC-SHA256.

Implemented on the standard library (the SDK pulls in a large dependency tree for one call).
The signing follows Tencent Cloud's API 3.0 "signature v3": a canonical request over the method,
path, headers ``content-type;host;x-tc-action`` and the SHA-256 of the body; a string to sign
with the timestamp and the credential scope ``<date>/sms/tc3_request``; and a key derived from
the secret key by HMAC-SHA256 over the date, the service and ``tc3_request``.

The endpoint is a setting, so tests point it at a local server that checks the signature.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.parse

from timebank.notify.transports import (
    ConfigError,
    Outgoing,
    Recipient,
    Result,
    TransportError,
    _json_answer,
    check_url,
    post,
)

SERVICE = "sms"
ACTION = "SendSms"
VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
SIGNED_HEADERS = "content-type;host;x-tc-action"
CONTENT_TYPE = "application/json; charset=utf-8"
#: Template parameters are short on Tencent's side (a variable of a notice template is limited).
PARAM_LIMIT = 20
#: Error code prefixes worth another try later; the others (auth, bad template ...) are not.
RETRYABLE_PREFIXES = ("InternalError", "RequestLimitExceeded", "LimitExceeded")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def tc3_authorization(secret_id: str, secret_key: str, host: str, body: bytes,
                      timestamp: int, action: str = ACTION, service: str = SERVICE) -> str:
    """The ``Authorization`` header of a TC3-HMAC-SHA256 signed POST to ``/``."""
    date = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%d")
    canonical_headers = f"content-type:{CONTENT_TYPE}\nhost:{host}\nx-tc-action:{action.lower()}\n"
    canonical_request = "\n".join([
        "POST", "/", "", canonical_headers, SIGNED_HEADERS, hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join([
        ALGORITHM, str(timestamp), scope,
        hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, "
            f"Signature={signature}")


class TencentSmsTransport:
    channel = "sms"

    def __init__(self, secret_id: str, secret_key: str, app_id: str, sign_name: str,
                 template_id: str = "", code_template_id: str = "", region: str = "ap-guangzhou",
                 endpoint: str = "https://sms.tencentcloudapi.com", timeout: float = 10) -> None:
        self.secret_id, self.secret_key = secret_id, secret_key
        self.app_id, self.sign_name, self.region = app_id, sign_name, region
        self.template_id, self.code_template_id = template_id, code_template_id
        self.endpoint, self.timeout = endpoint, timeout

    def secrets(self) -> list[str]:
        return [self.secret_key]

    def carries(self, kind: str) -> bool:
        return bool(self.code_template_id if kind == "code" else self.template_id)

    def send(self, outgoing: Outgoing, recipient: Recipient) -> Result:
        if not recipient.phone:
            raise TransportError("no mobile number", retryable=False)
        if outgoing.kind == "code":
            template, params = self.code_template_id, [outgoing.code or ""]
        else:
            template, params = self.template_id, [outgoing.subject[:PARAM_LIMIT]]
        if not template:
            raise TransportError(f"no SMS template for {outgoing.kind}s", retryable=False)
        phone = recipient.phone if recipient.phone.startswith("+") else f"+86{recipient.phone}"
        body = json.dumps({
            "PhoneNumberSet": [phone], "SmsSdkAppId": self.app_id, "SignName": self.sign_name,
            "TemplateId": template, "TemplateParamSet": params,
            "SessionContext": str(outgoing.delivery_id or ""),
        }, ensure_ascii=False).encode("utf-8")
        host = urllib.parse.urlsplit(self.endpoint).netloc
        timestamp = int(time.time())
        headers = {
            "Authorization": tc3_authorization(self.secret_id, self.secret_key, host, body,
                                               timestamp),
            "Content-Type": CONTENT_TYPE, "Host": host, "X-TC-Action": ACTION,
            "X-TC-Timestamp": str(timestamp), "X-TC-Version": VERSION,
            "X-TC-Region": self.region,
        }
        _status, raw = post(self.endpoint, body, headers, self.timeout)
        response = _json_answer(raw).get("Response") or {}
        error = response.get("Error")
        if error:
            code = str(error.get("Code", "?"))
            raise TransportError(f"SMS error {code}", retryable=code.startswith(RETRYABLE_PREFIXES))
        statuses = response.get("SendStatusSet") or []
        if not statuses:
            raise TransportError("SMS answer without a send status")
        first = statuses[0]
        code = str(first.get("Code", "?"))
        if code != "Ok":
            raise TransportError(f"SMS not sent: {code}",
                                 retryable=code.startswith(RETRYABLE_PREFIXES))
        return Result(provider_id=first.get("SerialNo"))


REQUIRED = ("TIMEBANK_SMS_SECRET_KEY", "TIMEBANK_SMS_APP_ID", "TIMEBANK_SMS_SIGN_NAME")


def from_config(config, timeout: float) -> TencentSmsTransport | None:
    """The SMS transport when ``TIMEBANK_SMS_SECRET_ID`` is set, else None."""
    if not config.get("TIMEBANK_SMS_SECRET_ID"):
        return None
    missing = [name for name in REQUIRED if not config.get(name)]
    if missing:
        raise ConfigError(f"{', '.join(missing)} must be set when TIMEBANK_SMS_SECRET_ID is")
    if not (config.get("TIMEBANK_SMS_TEMPLATE_ID") or config.get("TIMEBANK_SMS_CODE_TEMPLATE_ID")):
        raise ConfigError("TIMEBANK_SMS_TEMPLATE_ID or TIMEBANK_SMS_CODE_TEMPLATE_ID must be set "
                          "when TIMEBANK_SMS_SECRET_ID is")
    endpoint = config.get("TIMEBANK_SMS_ENDPOINT") or "https://sms.tencentcloudapi.com"
    check_url("TIMEBANK_SMS_ENDPOINT", endpoint)
    return TencentSmsTransport(
        config["TIMEBANK_SMS_SECRET_ID"], config["TIMEBANK_SMS_SECRET_KEY"],
        config["TIMEBANK_SMS_APP_ID"], config["TIMEBANK_SMS_SIGN_NAME"],
        config.get("TIMEBANK_SMS_TEMPLATE_ID", ""), config.get("TIMEBANK_SMS_CODE_TEMPLATE_ID", ""),
        config.get("TIMEBANK_SMS_REGION") or "ap-guangzhou", endpoint, timeout)
