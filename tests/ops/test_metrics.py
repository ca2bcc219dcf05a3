"""``/metrics``: request latency by endpoint, claims and deposits (counted on commit), job runs
and failures and the last verification from the database, an optional bearer token."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from timebank.core import clock


def _scrape(client, **kw) -> dict:
    response = client.get("/metrics", **kw)
    assert response.status_code == 200, response.text
    assert response.mimetype == "text/plain"
    out = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_request_latency_is_recorded_by_endpoint(client):
    before = _value(_scrape(client), "timebank_http_request_duration_seconds_count",
                    endpoint="ops.healthz", method="GET")
    for _ in range(3):
        client.get("/healthz")
    client.get("/no/such/page")
    after = _scrape(client)
    assert _value(after, "timebank_http_request_duration_seconds_count",
                  endpoint="ops.healthz", method="GET") == before + 3
    assert _value(after, "timebank_http_requests_total", endpoint="unmatched", method="GET",
                  status="404") >= 1


def test_claims_are_counted_when_committed_only(client, db, tree, make_post, member_of):
    from timebank.posts import operations as posts

    def claims():
        return _value(_scrape(client), "timebank_claims_total", how="member")

    start = claims()
    post = make_post(days=(3, 4))
    posts.claim(tree.member, member_of(tree.member), post)
    db.session.rollback()  # written, then rolled back: not counted
    assert claims() == start
    posts.claim(tree.member, member_of(tree.member), post)
    db.session.commit()
    assert claims() == start + 2  # both sessions


def test_deposits_are_counted_once_per_source(client, db, tree, member_of):
    from timebank.ledger import operations as ledger

    s = _scrape(client)
    count = _value(s, "timebank_deposits_total")
    minutes = _value(s, "timebank_deposited_minutes_total")
    m = member_of(tree.member)
    ledger.deposit(tree.staff, m, 90, source_type="service_record", source_id=1, reason="")
    db.session.commit()
    ledger.deposit(tree.staff, m, 90, source_type="service_record", source_id=1, reason="")
    ledger.deposit_many(tree.staff, [ledger.DepositItem(m, 30, "service_record", 2),
                                     ledger.DepositItem(m, 30, "service_record", 1)])
    db.session.commit()
    s = _scrape(client)
    assert _value(s, "timebank_deposits_total") == count + 2
    assert _value(s, "timebank_deposited_minutes_total") == minutes + 120


def test_job_runs_failures_and_the_last_verification(client, db):
    from timebank.jobs import runner, table

    job = table.get_job("ledger.verify")
    assert runner.execute(job, table.latest_fire_time(job, clock.now())).outcome == "ok"
    broken = table.Job("test.broken", "timebank.nowhere:body", {"minute": "*"}, "broken")
    assert runner.execute(broken, table.latest_fire_time(broken, clock.now())).outcome == "failed"
    s = _scrape(client)
    assert _value(s, "timebank_database_up") == 1
    assert _value(s, "timebank_job_runs", job="ledger.verify", outcome="ok") == 1
    assert _value(s, "timebank_job_runs", job="test.broken", outcome="failed") == 1
    assert _value(s, "timebank_job_last_run_ok", job="test.broken") == 0
    assert _value(s, "timebank_ledger_last_verify_ok") == 1
    assert _value(s, "timebank_ledger_last_verify_timestamp_seconds") > 0


def test_the_token_guards_metrics_when_set(app, client):
    app.config["TIMEBANK_METRICS_TOKEN"] = "metrics-t0ken"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic metrics-t0ken"}
                      ).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer metrics-t0ken"})
    assert ok.status_code == 200 and "timebank_database_up" in ok.text


def test_metrics_with_the_database_down_still_answer(database):
    from timebank import create_app
    from timebank.config import TestConfig

    dead = create_app(TestConfig("postgresql+psycopg://u:pw@127.0.0.1:1/none",
                                 str(database.instance)))
    response = dead.test_client().get("/metrics")
    assert response.status_code == 200
    samples = {(s.name): s.value for f in text_string_to_metric_families(response.text)
               for s in f.samples}
    assert samples["timebank_database_up"] == 0
