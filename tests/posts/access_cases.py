"""Access declarations for the posts pages (see tests/test_access.py).

Objects outside the user's scope answer 404: a post, session or record of community C3 for the
staff of C1, a post of another street for a member. Member pages refuse users who are not
members (403), staff pages users who are not staff (403).
"""


def _objects(t):
    """A published post in C3 with a claim and a service record of member3 (made once)."""
    if getattr(t, "_posts_objects", None) is None:
        import datetime as dt

        from sqlalchemy import select

        from timebank.core import clock
        from timebank.catalogue import operations as catalogue
        from timebank.catalogue.data import DISTRICT_CATALOGUE
        from timebank.extensions import db
        from timebank.members.models import Member
        from timebank.posts import operations
        from timebank.catalogue.models import PostKind
        from timebank.posts.schedule import Schedule

        catalogue.ensure_catalogue(DISTRICT_CATALOGUE)
        kind = db.session.execute(select(PostKind).limit(1)).scalar_one()
        day = clock.today() + dt.timedelta(days=3)
        post = operations.create_post(None, t.C3, operations.PostData(
            kind=kind, title="丙社区岗位", capacity=3,
            schedule=Schedule("dates", dt.time(9), dt.time(11), dates_text=day.isoformat())))
        operations.publish(None, post)
        member3 = db.session.execute(select(Member).where(Member.user_id == t.member3.id)
                                     ).scalar_one()
        claim = operations.claim(None, member3, post).claims[0]
        yesterday = clock.today() - dt.timedelta(days=1)
        record = operations.report_service(
            None, member3, started_at=clock.local_datetime(yesterday, dt.time(9)),
            ended_at=clock.local_datetime(yesterday, dt.time(10)), description="打扫楼道")
        db.session.commit()
        t._posts_objects = (post.id, post.sessions[0].id, claim.id, record.id, member3.id)
    return t._posts_objects


def _post(t):
    return _objects(t)[0]


def _session(t):
    return _objects(t)[1]


def _claim(t):
    return _objects(t)[2]


def _record(t):
    return _objects(t)[3]


def _member3(t):
    return _objects(t)[4]


ANY_LOGGED_IN: set[str] = set()

SCOPED = {
    # member pages
    "posts.index": lambda t: [("GET", "/posts/", "staff", 403)],
    "posts.detail": lambda t: [("GET", f"/posts/{_post(t)}", "member", 404),
                               ("GET", f"/posts/{_post(t)}", "staff", 404)],
    "posts.poster_png": lambda t: [("GET", f"/posts/{_post(t)}/poster.png", "member", 404),
                                   ("GET", f"/posts/{_post(t)}/poster.png", "staff", 404)],
    "posts.claim": lambda t: [("POST", f"/posts/{_post(t)}/claim", "member", 404),
                              ("POST", f"/posts/{_post(t)}/claim", "staff", 403)],
    "posts.withdraw": lambda t: [("POST", f"/posts/claims/{_claim(t)}/withdraw", "member", 404),
                                 ("POST", f"/posts/claims/{_claim(t)}/withdraw", "staff", 404)],
    "posts.leave_waitlist": lambda t: [("POST", "/posts/waitlist/999999/leave", "member", 404)],
    "posts.my_claims": lambda t: [("GET", "/posts/mine", "staff", 403)],
    "posts.checkin_page": lambda t: [("GET", "/posts/checkin/x", "staff", 403)],
    "posts.checkin": lambda t: [("POST", "/posts/checkin/x", "liaison", 403)],
    "posts.report_service": lambda t: [("GET", "/posts/report", "staff", 403)],
    "posts.card": lambda t: [("GET", "/posts/card", "staff", 403)],
    "posts.card_xlsx": lambda t: [("GET", "/posts/card.xlsx", "district_admin", 403)],
    "posts.member_card": lambda t: [("GET", f"/posts/card/{_member3(t)}", "staff", 404),
                                    ("GET", f"/posts/card/{_member3(t)}", "member", 404),
                                    ("GET", f"/posts/card/{_member3(t)}", "liaison", 404)],
    "posts.member_card_xlsx": lambda t: [
        ("GET", f"/posts/card/{_member3(t)}.xlsx", "street_admin", 404)],
    # staff pages
    "posts.manage": lambda t: [("GET", "/posts/manage", "member", 403),
                               ("GET", "/posts/manage", "liaison", 403)],
    "posts.new_post": lambda t: [("GET", "/posts/manage/new", "member", 403)],
    "posts.edit_post": lambda t: [("GET", f"/posts/manage/{_post(t)}/edit", "staff", 404),
                                  ("GET", f"/posts/manage/{_post(t)}/edit", "member3", 404)],
    "posts.manage_post": lambda t: [("GET", f"/posts/manage/{_post(t)}", "staff", 404),
                                    ("GET", f"/posts/manage/{_post(t)}", "street_admin", 404)],
    "posts.publish": lambda t: [("POST", f"/posts/manage/{_post(t)}/publish", "staff", 404)],
    "posts.close": lambda t: [("POST", f"/posts/manage/{_post(t)}/close", "staff", 404)],
    "posts.cancel": lambda t: [("POST", f"/posts/manage/{_post(t)}/cancel", "staff", 404),
                               ("POST", f"/posts/manage/{_post(t)}/cancel", "member3", 404)],
    "posts.add_sessions": lambda t: [
        ("POST", f"/posts/manage/{_post(t)}/sessions", "staff", 404),
        ("POST", f"/posts/manage/{_post(t)}/sessions", "member3", 404),
        ("POST", f"/posts/manage/{_post(t)}/sessions", "street_admin", 404)],
    "posts.add_kind": lambda t: [("POST", "/posts/manage/kinds", "member", 403)],
    "posts.manage_session": lambda t: [
        ("GET", f"/posts/manage/sessions/{_session(t)}", "staff", 404),
        ("GET", f"/posts/manage/sessions/{_session(t)}", "member3", 404)],
    "posts.session_qr": lambda t: [
        ("GET", f"/posts/manage/sessions/{_session(t)}/qr.svg", "staff", 404)],
    "posts.mark_attendance": lambda t: [
        ("POST", f"/posts/manage/sessions/{_session(t)}/attendance", "staff", 404)],
    "posts.cancel_session": lambda t: [
        ("POST", f"/posts/manage/sessions/{_session(t)}/cancel", "staff", 404)],
    "posts.move_session": lambda t: [
        ("POST", f"/posts/manage/sessions/{_session(t)}/move", "staff", 404),
        ("POST", f"/posts/manage/sessions/{_session(t)}/move", "member3", 404),
        ("POST", f"/posts/manage/sessions/{_session(t)}/move", "member", 404)],
    "posts.records": lambda t: [("GET", "/posts/manage/records", "member", 403)],
    "posts.verify_record": lambda t: [
        ("POST", f"/posts/manage/records/{_record(t)}/verify", "staff", 404),
        ("POST", f"/posts/manage/records/{_record(t)}/verify", "member3", 404)],
    "posts.verify_bulk": lambda t: [("POST", "/posts/manage/records/verify", "member", 403)],
    "posts.reject_record": lambda t: [
        ("POST", f"/posts/manage/records/{_record(t)}/reject", "staff", 404)],
    "posts.revoke_record": lambda t: [
        ("POST", f"/posts/manage/records/{_record(t)}/revoke", "staff", 404),
        ("POST", f"/posts/manage/records/{_record(t)}/revoke", "member3", 404)],
}
