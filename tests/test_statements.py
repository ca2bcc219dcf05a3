"""No page issues a statement per row it lists (N+1), counted, not timed (issue 17).

On the demo district each list page is rendered twice, with 5 rows a page and with 40; the
number of SQL statements must not grow with the rows shown. A page that lazy-loads a member, a
post or a session per row fails here long before anyone notices it being slow."""
from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event

#: (login, path) of the list pages of each role.
PAGES = [
    ("13800000003", "/matching/"),
    ("13800000003", "/members/"),
    ("13800000003", "/posts/manage"),
    ("13800000003", "/posts/manage/records?status=verified"),
    ("13800000003", "/recognition/rankings"),
    ("13800000001", "/members/"),
    ("13800000001", "/reports/units"),
    ("13800000001", "/recognition/rankings"),
    ("13800000004", "/members/unit"),
    ("13800000005", "/posts/"),
    ("13800000005", "/posts/mine"),
    ("13800000003", "/exchange/manage/"),
    ("13800000003", "/exchange/manage/requests"),
    ("13800000005", "/exchange/"),
    ("13800000005", "/exchange/mine"),
    ("13800000003", "/teams/"),
    ("13800000005", "/teams/mine"),
]


@contextlib.contextmanager
def counting(engine):
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def demo(app, db):
    from timebank import demo as demo_module

    demo_module.seed()
    db.session.commit()
    return demo_module


def _statements(app, db, phone, path, page_size, password) -> int:
    app.config["PAGE_SIZE"] = page_size
    client = app.test_client()
    assert client.post("/auth/login", data={"phone": phone, "password": password}).status_code == 302
    client.get(path)  # warm: first-request caches (settings, catalogue) are not per row
    db.session.remove()
    with counting(db.engine) as seen:
        r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return len(seen)


def test_list_pages_do_not_query_per_row(app, db, demo):
    grown = []
    for phone, path in PAGES:
        few = _statements(app, db, phone, path, 5, demo.DEMO_PASSWORD)
        many = _statements(app, db, phone, path, 40, demo.DEMO_PASSWORD)
        print(f"{path:45} {phone}  {few:3d} statements at 5 rows, {many:3d} at 40")
        if many > few:
            grown.append(f"{path} as {phone}: {few} statements at 5 rows, {many} at 40")
    assert not grown, "\n".join(grown)
