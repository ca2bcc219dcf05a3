"""Each transport against a real local server, and the settings that build them."""
from __future__ import annotations

import pytest

from timebank.notify.registry import build_transports
from timebank.notify.transports import ConfigError, Outgoing, Recipient, TransportError

MESSAGE = Outgoing(subject="明天的服务提醒", body="东风社区 9:00 便民服务", link="/posts/1",
                   delivery_id=7, message_id=3)
CODE = Outgoing(subject="验证码", kind="code", code="482913", purpose="resident_login",
                delivery_id=8)
MEMBER = Recipient(user_id=5, name="党员甲", phone="13800000005", email="jia@example.org")


@pytest.mark.parametrize("smtp_server", ["none", "starttls", "ssl"], indirect=True)
def test_email_reaches_the_smtp_server(app, smtp_server, notify_config):
    transport = build_transports(notify_config(smtp=smtp_server))["email"]
    transport.send(MESSAGE, MEMBER)
    [mail] = smtp_server.handler.messages
    assert mail["To"] == "jia@example.org" and mail["From"] == "timebank@example.org"
    assert mail["Subject"] == "明天的服务提醒"
    assert "东风社区 9:00 便民服务" in mail.get_content() and "/posts/1" in mail.get_content()


@pytest.mark.parametrize("smtp_server", ["starttls"], indirect=True)
def test_email_with_a_wrong_password_is_not_retried(app, smtp_server, notify_config):
    transport = build_transports(notify_config(
        smtp=smtp_server, TIMEBANK_SMTP_PASSWORD="wrong-password"))["email"]
    with pytest.raises(TransportError) as err:
        transport.send(MESSAGE, MEMBER)
    assert not err.value.retryable and "wrong-password" not in str(err.value)
    assert smtp_server.handler.messages == []


@pytest.mark.parametrize("smtp_server", ["starttls"], indirect=True)
def test_email_to_an_untrusted_certificate_fails_clearly(app, smtp_server, notify_config):
    transport = build_transports(notify_config(smtp=smtp_server,
                                               TIMEBANK_SMTP_CA_FILE=""))["email"]
    with pytest.raises(TransportError) as err:
        transport.send(MESSAGE, MEMBER)
    assert "certificate" in str(err.value) and not err.value.retryable


def test_email_temporary_and_permanent_refusals(app, smtp_server, notify_config):
    transport = build_transports(notify_config(smtp=smtp_server))["email"]
    smtp_server.handler.fail_first = ["451 4.3.0 try again later"]
    with pytest.raises(TransportError) as err:
        transport.send(MESSAGE, MEMBER)
    assert err.value.retryable
    smtp_server.handler.refuse_rcpt = {"jia@example.org"}
    with pytest.raises(TransportError) as err:
        transport.send(MESSAGE, MEMBER)
    assert not err.value.retryable
    with pytest.raises(TransportError) as err:
        transport.send(MESSAGE, Recipient(user_id=5))
    assert not err.value.retryable and "no e-mail address" in str(err.value)
    assert smtp_server.handler.messages == []


def test_email_to_a_closed_port_is_retryable(app, notify_config):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = type("Closed", (), {"port": port, "mode": "none"})()
    transport = build_transports(notify_config(smtp=closed))["email"]
    with pytest.raises(TransportError) as err:
        transport.send(MESSAGE, MEMBER)
    assert err.value.retryable


def test_wecom_robot_posts_text_and_mentions_the_member(app, wecom_server, notify_config):
    transport = build_transports(notify_config(wecom=wecom_server))["wecom"]
    transport.send(MESSAGE, MEMBER)
    [req] = wecom_server.requests
    assert req.path == "/cgi-bin/webhook/send?key=robot-key"
    payload = req.json()
    assert payload["msgtype"] == "text"
    assert payload["text"]["content"].startswith("明天的服务提醒\n东风社区")
    assert payload["text"]["mentioned_mobile_list"] == ["13800000005"]


def test_wecom_errcodes(app, wecom_server, notify_config):
    transport = build_transports(notify_config(wecom=wecom_server))["wecom"]
    wecom_server.fail_first = [(200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
                               (200, {"errcode": 93000, "errmsg": "invalid webhook url"}),
                               (502, {})]
    outcomes = []
    for _ in range(3):
        with pytest.raises(TransportError) as err:
            transport.send(MESSAGE, MEMBER)
        outcomes.append(err.value.retryable)
        assert "robot-key" not in str(err.value)
    assert outcomes == [True, False, True]
    assert not transport.carries("code")


def test_signed_webhook_is_verified_by_the_receiver(app, webhook_server, notify_config):
    transport = build_transports(notify_config(webhook=webhook_server))["webhook"]
    transport.send(MESSAGE, MEMBER)
    [req] = webhook_server.accepted
    body = req.json()
    assert body["event"] == "message" and body["delivery_id"] == 7
    assert body["recipient"]["phone"] == "13800000005" and body["subject"] == "明天的服务提醒"


def test_webhook_with_the_wrong_secret_is_refused(app, webhook_server, notify_config):
    transport = build_transports(notify_config(
        webhook=webhook_server, TIMEBANK_WEBHOOK_SECRET="another-secret-of-16"))["webhook"]
    with pytest.raises(TransportError) as err:
        transport.send(MESSAGE, MEMBER)
    assert str(err.value) == "HTTP 401" and not err.value.retryable
    assert webhook_server.accepted == []


def test_tencent_sms_signature_is_accepted(app, sms_server, notify_config):
    transport = build_transports(notify_config(sms=sms_server))["sms"]
    result = transport.send(MESSAGE, MEMBER)
    assert result.provider_id == "2640:1"
    transport.send(CODE, Recipient(phone="13900000009"))
    first, second = (r.json() for r in sms_server.accepted)
    assert first["PhoneNumberSet"] == ["+8613800000005"] and first["TemplateId"] == "100001"
    assert first["TemplateParamSet"] == ["明天的服务提醒"] and first["SignName"] == "滨河区时间银行"
    assert second["TemplateId"] == "100002" and second["TemplateParamSet"] == ["482913"]


def test_tencent_sms_errors(app, sms_server, notify_config):
    transport = build_transports(notify_config(
        sms=sms_server, TIMEBANK_SMS_SECRET_KEY="not-the-key"))["sms"]
    with pytest.raises(TransportError) as err:
        transport.send(MESSAGE, MEMBER)
    assert "AuthFailure.SignatureFailure" in str(err.value) and not err.value.retryable
    transport = build_transports(notify_config(sms=sms_server))["sms"]
    sms_server.fail_first = [
        (200, {"Response": {"Error": {"Code": "RequestLimitExceeded"}, "RequestId": "x"}}),
        (200, {"Response": {"SendStatusSet": [{"Code": "LimitExceeded.PhoneNumberDailyLimit"}],
                            "RequestId": "y"}}),
        (200, {"Response": {"SendStatusSet": [{"Code": "FailedOperation.PhoneNumberInBlacklist"}],
                            "RequestId": "z"}}),
    ]
    outcomes = []
    for _ in range(3):
        with pytest.raises(TransportError) as err:
            transport.send(MESSAGE, MEMBER)
        outcomes.append(err.value.retryable)
    assert outcomes == [True, True, False]


@pytest.mark.parametrize("settings, named", [
    ({"TIMEBANK_WEBHOOK_URL": "https://hook.example.org/x"}, "TIMEBANK_WEBHOOK_SECRET"),
    ({"TIMEBANK_WEBHOOK_URL": "hook.example.org", "TIMEBANK_WEBHOOK_SECRET": "x" * 20},
     "TIMEBANK_WEBHOOK_URL"),
    ({"TIMEBANK_WECOM_WEBHOOK_URL": "ftp://qyapi"}, "TIMEBANK_WECOM_WEBHOOK_URL"),
    ({"MAIL_SERVER": "smtp.example.org", "TIMEBANK_SMTP_SECURITY": "tls"},
     "TIMEBANK_SMTP_SECURITY"),
    ({"MAIL_SERVER": "smtp.example.org", "MAIL_SENDER": "timebank"}, "TIMEBANK_MAIL_SENDER"),
    ({"MAIL_SERVER": "smtp.example.org", "TIMEBANK_SMTP_USER": "u"}, "TIMEBANK_SMTP_PASSWORD"),
    ({"MAIL_SERVER": "smtp.example.org", "TIMEBANK_SMTP_SECURITY": "none",
      "TIMEBANK_SMTP_USER": "u", "TIMEBANK_SMTP_PASSWORD": "p"}, "TIMEBANK_SMTP_SECURITY"),
    ({"TIMEBANK_SMS_SECRET_ID": "AKID"}, "TIMEBANK_SMS_SECRET_KEY"),
    ({"TIMEBANK_SMS_SECRET_ID": "AKID", "TIMEBANK_SMS_SECRET_KEY": "k", "TIMEBANK_SMS_APP_ID": "1",
      "TIMEBANK_SMS_SIGN_NAME": "s"}, "TIMEBANK_SMS_TEMPLATE_ID"),
    ({"TIMEBANK_NOTIFY_MAX_ATTEMPTS": 0}, "TIMEBANK_NOTIFY_MAX_ATTEMPTS"),
])
def test_bad_settings_name_the_variable(settings, named):
    base = {"MAIL_SENDER": "timebank@example.org"}
    with pytest.raises(ConfigError, match=named):
        build_transports({**base, **settings})


def test_a_bad_setting_stops_the_app_at_start(monkeypatch, tmp_path):
    from timebank import create_app
    from timebank.config import TestConfig

    monkeypatch.setenv("TIMEBANK_WEBHOOK_URL", "https://hook.example.org/x")
    with pytest.raises(ConfigError, match="TIMEBANK_WEBHOOK_SECRET"):
        create_app(TestConfig("sqlite://", str(tmp_path)))
    monkeypatch.setenv("TIMEBANK_NOTIFY_MAX_ATTEMPTS", "five")
    with pytest.raises(ValueError, match="TIMEBANK_NOTIFY_MAX_ATTEMPTS must be a whole number"):
        TestConfig("sqlite://", str(tmp_path))


def test_nothing_configured_means_no_transport():
    assert build_transports({"MAIL_SENDER": "timebank@localhost"}) == {}
