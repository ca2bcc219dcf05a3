"""Access declarations for the certificate routes (see tests/test_access.py)."""


def _cert(t) -> int:
    """A certificate of member3 (community C3)."""
    import datetime as dt

    from sqlalchemy import select

    from tests.service_records import served
    from timebank.certificates import operations
    from timebank.core import clock
    from timebank.extensions import db
    from timebank.members.models import Member

    m3 = db.session.execute(select(Member).where(Member.user_id == t.member3.id)).scalar_one()
    served(t.staff3, m3, clock.now() - dt.timedelta(days=3), 60)
    today = clock.today()
    cert = operations.issue(t.member3, m3, today - dt.timedelta(days=30), today)
    db.session.commit()
    return cert.id


def _download(t):
    cid = _cert(t)
    return [("GET", f"/certificates/{cid}.pdf", "member", 404),
            ("GET", f"/certificates/{cid}.pdf", "staff", 404),
            ("GET", f"/certificates/{cid}.pdf", "liaison2", 404)]


def _revoke(t):
    cid = _cert(t)
    return [("POST", f"/certificates/{cid}/revoke", "member3", 404),
            ("POST", f"/certificates/{cid}/revoke", "staff", 404),
            ("POST", f"/certificates/{cid}/revoke", "liaison2", 404)]


SCOPED = {
    "certificates.index": lambda t: [("GET", "/certificates/", "staff", 403)],
    "certificates.download": _download,
    "certificates.revoke": _revoke,
}
