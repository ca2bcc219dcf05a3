"""Fixtures shared by the posts, API and browser tests (imported by their conftest.py)."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

_seq = itertools.count(1)


@pytest.fixture
def catalogue(db):
    """The district catalogue (3 categories, 34 kinds), as the demo loads it."""
    from timebank.catalogue import operations as catalogue
    from timebank.catalogue.data import DISTRICT_CATALOGUE

    catalogue.ensure_catalogue(DISTRICT_CATALOGUE)
    db.session.commit()
    from sqlalchemy import select

    from timebank.catalogue.models import PostKind

    return {k.code: k for k in db.session.execute(select(PostKind)).scalars()}


def local_day(days_ahead: int) -> dt.date:
    from timebank.core import clock

    return clock.today() + dt.timedelta(days=days_ahead)


@pytest.fixture
def make_post(db, tree, catalogue):
    """``make_post(community=C1, capacity=5, days=(3,), start="09:00", end="11:00",
    publish=True, **PostData fields)`` -> a committed Post with one session per day offset."""
    from timebank.posts import operations
    from timebank.posts.schedule import Schedule

    def make(community=None, capacity=5, days=(3,), start="09:00", end="11:00", publish=True,
             kind="convenience-01", actor=None, **fields):
        community = community or tree.C1
        dates = "\n".join(local_day(d).isoformat() for d in days)
        schedule = Schedule("dates", dt.time.fromisoformat(start), dt.time.fromisoformat(end),
                            dates_text=dates)
        data = operations.PostData(kind=catalogue[kind],
                                   title=fields.pop("title", f"岗位{next(_seq)}"),
                                   capacity=capacity, schedule=schedule, **fields)
        post = operations.create_post(actor, community, data)
        if publish:
            operations.publish(actor, post)
        db.session.commit()
        return post

    return make


@pytest.fixture
def make_member(db, make_user, tree):
    """``make_member(community=C1, grid=None)`` -> an approved Member (not the user)."""
    from sqlalchemy import select

    from timebank.members.models import Member

    def make(community=None, **kw):
        user = make_user("member", community or tree.C1, **kw)
        return db.session.execute(select(Member).where(Member.user_id == user.id)).scalar_one()

    return make


@pytest.fixture
def member_of(db):
    """The Member row of a tree user."""
    from sqlalchemy import select

    from timebank.members.models import Member

    def get(user):
        return db.session.execute(select(Member).where(Member.user_id == user.id)).scalar_one()

    return get


@pytest.fixture
def live_server(app):
    """The app served by werkzeug in a thread (real sockets, a thread per request)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def staff_in_parallel(app, staff_ids, action):
    """Run ``action(user)`` for each staff id at once (see tests/parallel.py); returns the
    results (exceptions included) as sorted strings."""
    from tests.parallel import run_parallel
    from timebank.accounts.models import User
    from timebank.extensions import db

    return sorted(map(str, run_parallel(app, db, [
        lambda uid=uid: action(db.session.get(User, uid)) for uid in staff_ids])))
