"""Access declarations for the matcher's routes (see tests/test_access.py). Builders make a
published post of C1 and a proposal for it, so refusals are checked on real objects."""


def post(t) -> int:
    import datetime as dt

    from timebank.core import clock
    from timebank.catalogue import operations as catalogue
    from timebank.catalogue.data import DISTRICT_CATALOGUE
    from timebank.extensions import db
    from timebank.posts import operations
    from timebank.catalogue.models import PostKind
    from timebank.posts.schedule import Schedule

    catalogue.ensure_catalogue(DISTRICT_CATALOGUE)
    kind = db.session.query(PostKind).order_by(PostKind.id).first()
    day = clock.today() + dt.timedelta(days=3)
    p = operations.create_post(None, t.C1, operations.PostData(
        kind=kind, title="岗位", capacity=2,
        schedule=Schedule("dates", dt.time(9), dt.time(11), dates_text=day.isoformat())))
    operations.publish(None, p)
    db.session.commit()
    return p.id


def proposal(t) -> int:
    from sqlalchemy import select

    from timebank.core import clock
    from timebank.extensions import db
    from timebank.matching.models import MatchRun, Proposal
    from timebank.members.models import Member
    from timebank.posts.models import Post

    p = db.session.get(Post, post(t))
    member = db.session.execute(select(Member).where(Member.user_id == t.member.id)).scalar_one()
    run = MatchRun(origin="cli", stats={}, proposals=1, started_at=clock.now())
    db.session.add(run)
    db.session.flush()
    row = Proposal(run_id=run.id, kind="post", community_id=t.C1.id, member_id=member.id,
                   post_id=p.id, session_id=p.sessions[0].id, cost=1, reasons={},
                   status="proposed", created_at=clock.now())
    db.session.add(row)
    db.session.commit()
    return row.id


SCOPED = {
    "matching.index": lambda t: [("GET", "/matching/", u, 403) for u in ("member", "liaison")],
    "matching.run": lambda t: [("POST", "/matching/run", u, 403) for u in ("member", "liaison")],
    "matching.accept": lambda t: [("POST", f"/matching/proposals/{proposal(t)}/accept", u, 404)
                                  for u in ("staff3", "street_admin2", "member")],
    "matching.reject": lambda t: [("POST", f"/matching/proposals/{proposal(t)}/reject", u, 404)
                                  for u in ("staff3", "member")],
    "matching.decide_many": lambda t: [("POST", "/matching/proposals/decide", u, 403)
                                       for u in ("member", "liaison")],
    "matching.suggest": lambda t: [("GET", f"/matching/posts/{post(t)}/suggest", u, 404)
                                   for u in ("staff3", "member")],
    "matching.propose_for_post": lambda t: [("POST", f"/matching/posts/{post(t)}/suggest", u, 404)
                                            for u in ("staff3", "street_admin2", "member")],
    "matching.recommended": lambda t: [("GET", "/matching/recommended", u, 403)
                                       for u in ("staff", "liaison")],
    "matching.settings_page": lambda t: [("GET", "/matching/settings", u, 403)
                                         for u in ("street_admin", "staff", "member")],
}
