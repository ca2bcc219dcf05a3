"""Settings, read from the environment (``TIMEBANK_*``).

Secrets that are not given are generated once into ``instance/`` so a fresh clone runs with
nothing configured, and restarts keep sessions and encrypted data readable.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


def instance_path() -> Path:
    return Path(os.environ.get("TIMEBANK_INSTANCE_PATH", PROJECT_ROOT / "instance"))


def instance_secret(name: str, nbytes: int = 32) -> str:
    """Return the secret kept in ``instance/<name>``, creating it on first use."""
    path = instance_path() / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    # O_EXCL: two processes starting at once must not end up with different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


class Config:
    """Production defaults; every value can be overridden from the environment."""

    TESTING = False

    def __init__(self) -> None:
        inst = instance_path()
        self.INSTANCE_PATH = str(inst)
        self.SQLALCHEMY_DATABASE_URI = os.environ.get(
            "TIMEBANK_DATABASE_URL", f"sqlite:///{inst / 'timebank.sqlite3'}"
        )
        self.SECRET_KEY = os.environ.get("TIMEBANK_SECRET_KEY") or instance_secret("secret_key")
        #: A TrueType/OpenType font with Chinese glyphs for the post posters (PNG); when unset,
        #: the usual system fonts are tried (Debian: apt-get install fonts-wqy-microhei).
        self.TIMEBANK_POSTER_FONT = os.environ.get("TIMEBANK_POSTER_FONT", "")
        #: Key for field encryption (ID card numbers); separate from SECRET_KEY so sessions can
        #: be rotated without losing stored data.
        self.TIMEBANK_DATA_KEY = os.environ.get("TIMEBANK_DATA_KEY") or instance_secret(
            "data_key"
        )
        #: Signs the ledger checkpoints (see ``timebank.ledger.checkpoints``); kept out of the
        #: database so whoever can rewrite the ledger's tables cannot forge a checkpoint.
        self.TIMEBANK_LEDGER_CHECKPOINT_KEY = os.environ.get(
            "TIMEBANK_LEDGER_CHECKPOINT_KEY") or instance_secret("ledger_checkpoint_key")
        #: Append-only file of signed checkpoints, outside the database.
        self.TIMEBANK_LEDGER_CHECKPOINT_FILE = os.environ.get(
            "TIMEBANK_LEDGER_CHECKPOINT_FILE", str(inst / "ledger-checkpoints.jsonl"))
        #: Optional: each checkpoint is also POSTed (JSON) here; a failure is logged, not fatal.
        self.TIMEBANK_LEDGER_WITNESS_URL = os.environ.get("TIMEBANK_LEDGER_WITNESS_URL", "")
        #: Downloads (xlsx, csv, pdf) per user, across every export page.
        self.EXPORT_LIMIT = os.environ.get("TIMEBANK_EXPORT_LIMIT", "10 per minute;200 per day")
        self.TIMEBANK_TIMEZONE = os.environ.get("TIMEBANK_TIMEZONE", "Asia/Shanghai")
        self.SESSION_COOKIE_SECURE = _env_bool("TIMEBANK_COOKIE_SECURE", True)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.RATELIMIT_STORAGE_URI = os.environ.get("TIMEBANK_RATELIMIT_STORAGE", "memory://")
        self.RATELIMIT_ENABLED = _env_bool("TIMEBANK_RATELIMIT_ENABLED", True)
        self.MAIL_SERVER = os.environ.get("TIMEBANK_SMTP_HOST", "")
        #: 0: the usual port of the security mode (587 STARTTLS, 465 SSL, 25 none).
        self.MAIL_PORT = _env_int("TIMEBANK_SMTP_PORT", 0)
        self.MAIL_SENDER = os.environ.get("TIMEBANK_MAIL_SENDER", "timebank@localhost")
        self._init_notify()
        self.MAX_CONTENT_LENGTH = int(os.environ.get("TIMEBANK_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))

    def _init_notify(self) -> None:
        """Delivery of inbox messages and one-time codes (``timebank.notify``). A channel is on
        when its settings are given; ``notify.transports.build_transports`` checks them."""
        env = os.environ.get
        #: "starttls", "ssl" or "none".
        self.TIMEBANK_SMTP_SECURITY = env("TIMEBANK_SMTP_SECURITY", "starttls")
        self.TIMEBANK_SMTP_USER = env("TIMEBANK_SMTP_USER", "")
        self.TIMEBANK_SMTP_PASSWORD = env("TIMEBANK_SMTP_PASSWORD", "")
        #: CA bundle for a server whose certificate is not in the system store.
        self.TIMEBANK_SMTP_CA_FILE = env("TIMEBANK_SMTP_CA_FILE", "")
        #: 企业微信 group robot: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...
        self.TIMEBANK_WECOM_WEBHOOK_URL = env("TIMEBANK_WECOM_WEBHOOK_URL", "")
        self.TIMEBANK_WEBHOOK_URL = env("TIMEBANK_WEBHOOK_URL", "")
        self.TIMEBANK_WEBHOOK_SECRET = env("TIMEBANK_WEBHOOK_SECRET", "")
        self.TIMEBANK_SMS_SECRET_ID = env("TIMEBANK_SMS_SECRET_ID", "")
        self.TIMEBANK_SMS_SECRET_KEY = env("TIMEBANK_SMS_SECRET_KEY", "")
        self.TIMEBANK_SMS_APP_ID = env("TIMEBANK_SMS_APP_ID", "")
        self.TIMEBANK_SMS_SIGN_NAME = env("TIMEBANK_SMS_SIGN_NAME", "")
        #: Approved templates: messages take one parameter (the subject), codes one (the code).
        self.TIMEBANK_SMS_TEMPLATE_ID = env("TIMEBANK_SMS_TEMPLATE_ID", "")
        self.TIMEBANK_SMS_CODE_TEMPLATE_ID = env("TIMEBANK_SMS_CODE_TEMPLATE_ID", "")
        self.TIMEBANK_SMS_REGION = env("TIMEBANK_SMS_REGION", "ap-guangzhou")
        self.TIMEBANK_SMS_ENDPOINT = env("TIMEBANK_SMS_ENDPOINT",
                                         "https://sms.tencentcloudapi.com")
        #: Channels a user who never saved preferences gets, comma-separated (e.g. "wecom").
        self.TIMEBANK_NOTIFY_DEFAULT_CHANNELS = env("TIMEBANK_NOTIFY_DEFAULT_CHANNELS", "")
        self.TIMEBANK_NOTIFY_MAX_ATTEMPTS = _env_int("TIMEBANK_NOTIFY_MAX_ATTEMPTS", 6)
        #: First retry after this many seconds, then doubling up to the maximum.
        self.TIMEBANK_NOTIFY_BACKOFF_SECONDS = _env_int("TIMEBANK_NOTIFY_BACKOFF_SECONDS", 60)
        self.TIMEBANK_NOTIFY_BACKOFF_MAX_SECONDS = _env_int(
            "TIMEBANK_NOTIFY_BACKOFF_MAX_SECONDS", 6 * 3600)
        self.TIMEBANK_NOTIFY_TIMEOUT = _env_int("TIMEBANK_NOTIFY_TIMEOUT", 10)
        #: Deliveries one run of the job sends at most (the rest wait for the next minute).
        self.TIMEBANK_NOTIFY_BATCH = _env_int("TIMEBANK_NOTIFY_BATCH", 200)

    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead; sessions expire on their own
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BOOTSWATCH_THEME = None
    #: Failed logins allowed per phone number and per client address.
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "30 per 15 minutes"
    RATELIMIT_HEADERS_ENABLED = True
    PAGE_SIZE = 50


class TestConfig(Config):
    """Used by the test suite: the database URL comes from the test harness."""

    TESTING = True
    __test__ = False  # not a pytest test class

    def __init__(self, database_url: str, instance: str | None = None) -> None:
        if instance:
            os.environ["TIMEBANK_INSTANCE_PATH"] = instance
        super().__init__()
        self.SQLALCHEMY_DATABASE_URI = database_url
        self.SESSION_COOKIE_SECURE = False
        self.REMEMBER_COOKIE_SECURE = False
        self.SERVER_NAME = None
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.TIMEBANK_LEDGER_WITNESS_URL = ""
