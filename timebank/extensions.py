"""Extension objects, created without an app; ``create_app`` binds them."""
from __future__ import annotations

from flask import has_request_context, request
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from timebank.core.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
#: No default limits: each sensitive route declares its own (login, claims, check-ins).
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def select_locale() -> str:
    # Babel expands "zh_CN" to its CLDR name zh_Hans_CN, which is the catalogue folder's name.
    if has_request_context() and request.cookies.get("lang") == "en":
        return "en"
    return "zh_CN"
