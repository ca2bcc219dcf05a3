"""The OpenAPI document matches the API: schemathesis generates requests for every operation
from the document, sends them to the app with a valid member token, and checks each answer
(status documented, body matching its schema, never a server error)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

# hypothesis-jsonschema is adapted to current Hypothesis in tests/api/conftest.py.
schema = schemathesis.from_pytest_fixture("api_schema")


@pytest.fixture
def api_schema(app, db, tree, make_post, member_of):
    from timebank.posts import operations

    # Something to find and claim, so valid ids exist; generous limits so the run is not
    # reduced to 429s (the limits have their own test).
    app.config["POSTS_CLAIM_LIMIT"] = "100000 per minute"
    app.config["POSTS_CHECKIN_LIMIT"] = "100000 per minute"
    post = make_post(capacity=50, days=(1, 2))
    make_post(community=tree.C2, capacity=2)
    operations.claim(tree.member, member_of(tree.member), post, session=post.sessions[0])
    db.session.commit()
    return schemathesis.from_wsgi("/api/v1/openapi.json", app)


@schema.parametrize()
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_matches_its_openapi_document(case, db, tree, token_for):
    import contextvars

    # A fresh token per case (one case may be "log out"), replacing the random Authorization
    # header schemathesis generates for the security scheme.
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token_for(tree.member)}"}
    db.session.commit()
    # Like a real server: each request in its own context (no ``g`` shared with the test).
    response = contextvars.Context().run(case.call_wsgi)
    STATUSES.append(response.status_code)
    case.validate_response(response)


STATUSES: list[int] = []


def test_document_lists_every_api_route(app):
    from timebank.api.openapi import document

    paths = document()["paths"]
    documented = {(m.upper(), "/api/v1" + p.replace("{", "<").replace("}", ">"))
                  for p, ops in paths.items() for m in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            import re

            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"<\1>", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((method, path))
    assert routes == documented


def test_the_schema_run_reached_the_happy_paths():
    """Guard against a run where every request was refused (e.g. a broken token)."""
    if not STATUSES:
        pytest.skip("schema run not executed in this process")
    assert {200, 201} <= set(STATUSES), sorted(set(STATUSES))
