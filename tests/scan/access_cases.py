"""Access declarations for the scanner pages (see tests/test_access.py).

The scanner and the check-in endpoint are for members (and staff, who scan members' codes);
a session's staff endpoints answer 404 to staff of another community; the personal code is for
members only."""


def _session(t):
    """A session of a published post in C3 (made once)."""
    if getattr(t, "_scan_session", None) is None:
        import datetime as dt

        from sqlalchemy import select

        from timebank.catalogue import operations as catalogue
        from timebank.catalogue.data import DISTRICT_CATALOGUE
        from timebank.catalogue.models import PostKind
        from timebank.core import clock
        from timebank.extensions import db
        from timebank.posts import operations
        from timebank.posts.schedule import Schedule

        catalogue.ensure_catalogue(DISTRICT_CATALOGUE)
        kind = db.session.execute(select(PostKind).limit(1)).scalar_one()
        day = clock.today() + dt.timedelta(days=3)
        post = operations.create_post(None, t.C3, operations.PostData(
            kind=kind, title="丙社区扫码岗位", capacity=3,
            schedule=Schedule("dates", dt.time(9), dt.time(11), dates_text=day.isoformat())))
        operations.publish(None, post)
        db.session.commit()
        t._scan_session = post.sessions[0].id
    return t._scan_session


ANY_LOGGED_IN: set[str] = set()

SCOPED = {
    "scan.index": lambda t: [("GET", "/scan/", "liaison", 403),
                             ("GET", "/scan/?mode=staff", "liaison", 403),
                             ("GET", f"/scan/?mode=staff&session={_session(t)}", "staff", 404)],
    "scan.checkin": lambda t: [("POST", "/scan/checkin", "liaison", 403),
                               ("POST", "/scan/checkin", "staff", 403)],
    "scan.staff_checkin": lambda t: [
        ("POST", f"/scan/sessions/{_session(t)}/checkin", "staff", 404),
        ("POST", f"/scan/sessions/{_session(t)}/checkin", "member3", 404),
        ("POST", f"/scan/sessions/{_session(t)}/checkin", "street_admin", 404)],
    "scan.set_location": lambda t: [
        ("POST", f"/scan/sessions/{_session(t)}/location", "staff", 404),
        ("POST", f"/scan/sessions/{_session(t)}/location", "member3", 404)],
    "scan.my_code": lambda t: [("GET", "/scan/my-code", "staff", 403),
                               ("GET", "/scan/my-code", "liaison", 403)],
    "scan.my_code_svg": lambda t: [("GET", "/scan/my-code.svg", "staff", 403)],
}
