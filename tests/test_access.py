"""Every route checks access.

1. Anonymous users are sent to the login page (the API answers 401), for every non-public route.
2. Every non-public endpoint declares who must be refused and with which status (403 for a
   wrong role, 404 for an object outside the user's scope), or that any logged-in user may use
   it. The declarations live next to each feature's tests in ``tests/<feature>/access_cases.py``:

       ANY_LOGGED_IN = {"inbox.index", ...}
       SCOPED = {"orgs.node": lambda t: [("GET", f"/orgs/{t.C3.id}", "street_admin", 404)], ...}

   where ``t`` is the ``tree`` fixture and the user is an attribute name on it. A new route
   without a declaration fails :func:`test_every_endpoint_is_declared`.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from timebank import create_app
from timebank.config import TestConfig

HERE = Path(__file__).parent


def _load_cases():
    any_logged_in: set[str] = set()
    scoped: dict = {}
    for path in sorted(HERE.glob("*/access_cases.py")):
        spec = importlib.util.spec_from_file_location(f"access_cases_{path.parent.name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        any_logged_in |= set(getattr(module, "ANY_LOGGED_IN", ()))
        for endpoint, cases in getattr(module, "SCOPED", {}).items():
            scoped.setdefault(endpoint, []).append(cases)
    return any_logged_in, scoped


ANY_LOGGED_IN, SCOPED = _load_cases()


def _rules():
    app = create_app(TestConfig("sqlite://"))
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or rule.endpoint.startswith("bootstrap."):
            continue
        if getattr(view, "is_public", False):
            continue
        methods = sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS"))
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule)
        out.append((rule.endpoint, methods[0], url))
    return sorted(out)


RULES = _rules()


@pytest.mark.parametrize(("endpoint", "method", "url"), RULES, ids=[r[0] for r in RULES])
def test_anonymous_is_sent_to_login(client, endpoint, method, url):
    response = client.open(url, method=method, data={} if method == "POST" else None,
                           csrf=False)
    if url.startswith("/api/"):
        assert response.status_code == 401
        assert response.get_json()["code"] == "unauthorized"
    else:
        assert response.status_code in (302, 400), endpoint
        if response.status_code == 302:
            assert "/auth/login" in response.location


def test_every_endpoint_is_declared():
    declared = ANY_LOGGED_IN | set(SCOPED)
    missing = sorted({e for e, _, _ in RULES} - declared)
    assert not missing, f"declare access rules in tests/<feature>/access_cases.py for: {missing}"


@pytest.mark.parametrize("endpoint", sorted(SCOPED))
def test_wrong_role_or_scope_is_refused(app, tree, make_client, endpoint):
    for builder in SCOPED[endpoint]:
        for method, url, user_attr, expected in builder(tree):
            client = make_client()
            client.login(getattr(tree, user_attr))
            response = client.open(url, method=method, data={} if method == "POST" else None)
            assert response.status_code == expected, (endpoint, method, url, user_attr,
                                                       response.status_code)
