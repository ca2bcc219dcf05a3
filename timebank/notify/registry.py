"""The configured transports, built from the settings (``TIMEBANK_*``, see README)."""
from __future__ import annotations

from timebank.notify import sms
from timebank.notify.transports import (
    SMTP_DEFAULT_PORT,
    SMTP_SECURITY,
    ConfigError,
    EmailTransport,
    SignedWebhookTransport,
    WecomRobotTransport,
    check_url,
)


def build_transports(config) -> dict[str, object]:
    """Every configured transport by channel name; raises :class:`ConfigError` on bad settings.

    ``config`` is a mapping (the Flask config). Called at start-up, so a wrong setting stops the
    app with its name instead of failing deliveries one by one at night."""
    timeout = config.get("TIMEBANK_NOTIFY_TIMEOUT", 10)
    if config.get("TIMEBANK_NOTIFY_MAX_ATTEMPTS", 1) < 1:
        raise ConfigError("TIMEBANK_NOTIFY_MAX_ATTEMPTS must be at least 1")
    if config.get("TIMEBANK_NOTIFY_BACKOFF_SECONDS", 1) < 1:
        raise ConfigError("TIMEBANK_NOTIFY_BACKOFF_SECONDS must be at least 1")
    out: dict[str, object] = {}
    if config.get("MAIL_SERVER"):
        security = config.get("TIMEBANK_SMTP_SECURITY", "starttls").strip().lower()
        if security not in SMTP_SECURITY:
            raise ConfigError("TIMEBANK_SMTP_SECURITY must be one of starttls, ssl, none "
                              f"(not {security!r})")
        sender = config.get("MAIL_SENDER", "")
        if "@" not in sender:
            raise ConfigError("TIMEBANK_MAIL_SENDER must be an e-mail address")
        if config.get("TIMEBANK_SMTP_USER") and not config.get("TIMEBANK_SMTP_PASSWORD"):
            raise ConfigError("TIMEBANK_SMTP_PASSWORD must be set when TIMEBANK_SMTP_USER is")
        if config.get("TIMEBANK_SMTP_USER") and security == "none":
            raise ConfigError("TIMEBANK_SMTP_USER needs TIMEBANK_SMTP_SECURITY starttls or ssl "
                              "(the password would cross the network in clear)")
        out["email"] = EmailTransport(
            config["MAIL_SERVER"], config.get("MAIL_PORT") or SMTP_DEFAULT_PORT[security],
            sender, security, config.get("TIMEBANK_SMTP_USER", ""),
            config.get("TIMEBANK_SMTP_PASSWORD", ""), config.get("TIMEBANK_SMTP_CA_FILE", ""),
            timeout)
    if config.get("TIMEBANK_WECOM_WEBHOOK_URL"):
        check_url("TIMEBANK_WECOM_WEBHOOK_URL", config["TIMEBANK_WECOM_WEBHOOK_URL"])
        out["wecom"] = WecomRobotTransport(config["TIMEBANK_WECOM_WEBHOOK_URL"], timeout)
    if config.get("TIMEBANK_WEBHOOK_URL"):
        check_url("TIMEBANK_WEBHOOK_URL", config["TIMEBANK_WEBHOOK_URL"])
        if len(config.get("TIMEBANK_WEBHOOK_SECRET", "")) < 16:
            raise ConfigError("TIMEBANK_WEBHOOK_SECRET must be set (16 characters or more) "
                              "when TIMEBANK_WEBHOOK_URL is")
        out["webhook"] = SignedWebhookTransport(config["TIMEBANK_WEBHOOK_URL"],
                                                config["TIMEBANK_WEBHOOK_SECRET"], timeout)
    transport = sms.from_config(config, timeout)
    if transport is not None:
        out["sms"] = transport
    return out
