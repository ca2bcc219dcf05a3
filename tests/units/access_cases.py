"""Access declarations for the units routes (see tests/test_access.py).

``liaison`` keeps U1's roster; an agreement U1 ⇄ C1 (street S1) is seen by U1's liaison, C1's
staff, S1's admin and the district. Everyone else gets 404 for its id; a known agreement acted on
by the wrong side is 403.
"""
import datetime as dt


def _agreement(t):
    """An agreement U1 ⇄ C1 with one commitment, signed by both (created once per tree)."""
    if not hasattr(t, "agreement"):
        from timebank.extensions import db
        from timebank.units import operations

        a = operations.create_agreement(t.liaison, t.U1, t.C1, "共建协议", dt.date(2026, 1, 1),
                                        dt.date(2026, 12, 31))
        t.item = operations.add_commitment(t.liaison, a, "funds", "资助", 1000)
        operations.sign(t.liaison, a)
        operations.sign(t.staff, a)
        db.session.commit()
        t.agreement = a
    return t.agreement


OUTSIDERS = ("liaison2", "staff3", "street_admin2", "member")


def _outsiders(method, path):
    def build(t):
        a = _agreement(t)
        url = path.format(id=a.id, item=t.item.id)
        return [(method, url, who, 404) for who in OUTSIDERS]
    return build


def _org_side_only(method, path):
    def build(t):
        a = _agreement(t)
        url = path.format(id=a.id, item=t.item.id)
        return [*_outsiders(method, path)(t), (method, url, "liaison", 403)]
    return build


SCOPED = {
    "units.roster": lambda t: [("GET", "/units/roster", "member", 403),
                               ("GET", "/units/roster", "staff", 403),
                               ("GET", f"/units/roster?unit={t.U1.id}", "liaison2", 404),
                               ("GET", f"/units/roster?unit={t.U1.id}", "street_admin", 403)],
    "units.roster_import": lambda t: [("GET", "/units/roster/import", "member", 403),
                                      ("GET", "/units/roster/import", "staff", 403),
                                      ("POST", "/units/roster/import", "member", 403)],
    "units.roster_template": lambda t: [("GET", "/units/roster/template.csv", "member", 403),
                                        ("GET", "/units/roster/template.xlsx", "staff", 403)],
    "units.roster_remind": lambda t: [("POST", f"/units/roster/{t.U1.id}/remind", who, 404)
                                      for who in ("liaison2", "staff", "street_admin", "member")],
    "units.roster_print": lambda t: [("GET", f"/units/roster/{t.U1.id}/unregistered", who, 404)
                                     for who in ("liaison2", "staff", "staff3", "member")],
    "units.agreements": lambda t: [("GET", "/units/agreements", "member", 403)],
    "units.agreement_new": lambda t: [("GET", "/units/agreements/new", "member", 403),
                                      ("POST", "/units/agreements/new", "member", 403)],
    "units.agreement": _outsiders("GET", "/units/agreements/{id}"),
    "units.add_item": _outsiders("POST", "/units/agreements/{id}/items"),
    "units.remove_item": _outsiders("POST", "/units/agreements/{id}/items/{item}/remove"),
    "units.sign": _outsiders("POST", "/units/agreements/{id}/sign"),
    "units.fulfil": _org_side_only("POST", "/units/agreements/{id}/items/{item}/fulfil"),
    "units.review": _org_side_only("POST", "/units/agreements/{id}/review"),
}
