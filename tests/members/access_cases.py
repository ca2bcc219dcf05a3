"""Access declarations for the members routes (see tests/test_access.py).

``member`` (C1, unit U1) and ``member3`` (C3, unit U2) are the tree's members; staff manage C1,
``liaison`` is U1's liaison. Ids of other scopes answer 404, known objects without the right 403.
"""
from timebank.members.queries import member_for_user


def _m(t, attr="member"):
    return member_for_user(getattr(t, attr)).id


ANY_LOGGED_IN = {"members.me"}


def _other_scopes(method, path):
    """member3 (C3, U2) seen by everyone outside its community and unit."""
    return lambda t: [(method, path.format(id=_m(t, "member3")), who, 404)
                      for who in ("staff", "street_admin", "liaison", "member")]


def _staff_only(method, path):
    """Known to the liaison and the member themself, but only staff may act."""
    return lambda t: [(method, path.format(id=_m(t, "member3")), "staff", 404),
                      (method, path.format(id=_m(t, "member3")), "street_admin", 404),
                      (method, path.format(id=_m(t)), "liaison", 403),
                      (method, path.format(id=_m(t)), "member", 403),
                      (method, path.format(id=_m(t)), "liaison2", 404),
                      (method, path.format(id=_m(t)), "staff3", 404),
                      (method, path.format(id=_m(t)), "member3", 404)]


SCOPED = {
    "members.application": lambda t: [("GET", "/members/me/application", "member", 403)],
    "members.detail": _other_scopes("GET", "/members/{id}"),
    "members.card": _other_scopes("GET", "/members/{id}/card"),
    "members.history": lambda t: [
        *_other_scopes("GET", "/members/{id}/history")(t),
        ("GET", f"/members/{_m(t)}/history", "liaison", 403),
    ],
    "members.edit_form": lambda t: [
        *_other_scopes("GET", "/members/{id}/form")(t),
        ("GET", f"/members/{_m(t)}/form", "liaison", 403),
    ],
    "members.reveal": _staff_only("POST", "/members/{id}/reveal"),
    "members.review": _staff_only("POST", "/members/{id}/review"),
    "members.move": _staff_only("POST", "/members/{id}/move"),
    "members.set_active": _staff_only("POST", "/members/{id}/active"),
    "members.directory": lambda t: [("GET", "/members/", "member", 403),
                                    ("GET", "/members/", "liaison", 403),
                                    ("GET", f"/members/?community={t.C3.id}", "staff", 404)],
    "members.bulk": lambda t: [("POST", "/members/bulk", "member", 403),
                               ("POST", "/members/bulk", "liaison", 403)],
    "members.export": lambda t: [("GET", "/members/export.xlsx", "member", 403),
                                 ("GET", "/members/export.xlsx", "liaison", 403)],
    "members.reported_units": lambda t: [("GET", "/members/reported-units", "member", 403),
                                         ("GET", "/members/reported-units", "liaison", 403)],
    "members.import_members": lambda t: [("GET", "/members/import", "member", 403),
                                         ("POST", "/members/import", "liaison", 403)],
    "members.import_template": lambda t: [("GET", "/members/import/template.xlsx", "member", 403),
                                          ("GET", "/members/import/template.csv", "liaison",
                                           403)],
    "members.skills": lambda t: [("GET", "/members/skills", who, 403)
                                 for who in ("staff", "street_admin", "liaison", "member")],
    "members.edit_skill": lambda t: [("POST", "/members/skills/1", who, 403)
                                     for who in ("staff", "street_admin", "member")],
    "members.liaison": lambda t: [("GET", "/members/unit", "member", 403),
                                  ("GET", "/members/unit", "staff", 403),
                                  ("GET", f"/members/unit?unit={t.U2.id}", "liaison", 404)],
    "members.remind": lambda t: [("POST", f"/members/unit/{t.U2.id}/remind", who, 404)
                                 for who in ("liaison", "member", "staff")],
    "members.report_unit": lambda t: [("POST", f"/members/unit/{t.U2.id}/reports", who, 404)
                                      for who in ("liaison", "member", "staff")],
    "members.withdraw_report": lambda t: [
        ("POST", f"/members/unit/{t.U2.id}/reports/1/withdraw", who, 404)
        for who in ("liaison", "member", "staff")],
}
