"""What the scan tests share: a running session, its code, a member of another district."""
from __future__ import annotations

import datetime as dt

from timebank.core import clock


def during(session, minutes: int = 10) -> dt.datetime:
    """A moment ``minutes`` after the session's start (check-in is open)."""
    return session.starts_at + dt.timedelta(minutes=minutes)


def session_url(app, session, base_url: str = "http://localhost") -> str:
    from timebank.posts import qr

    with app.test_request_context(base_url=base_url):
        return qr.checkin_url(session)


def other_district_member(db, make_member):
    """A member of a second district (with its own street and community)."""
    from timebank.orgs import operations as orgs
    from timebank.orgs.models import OrgKind

    d2 = orgs.create_node(None, None, OrgKind.DISTRICT, "外区", code="D2")
    s2 = orgs.create_node(None, d2, OrgKind.STREET, "外街道", code="D2S")
    c2 = orgs.create_node(None, s2, OrgKind.COMMUNITY, "外社区", code="D2C")
    db.session.commit()
    return make_member(community=c2)


def now() -> dt.datetime:
    return clock.now()
