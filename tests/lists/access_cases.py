"""Access declarations for the lists' routes (see tests/test_access.py).

Builders make the objects they need (a demand of C1, a resource of U1, a project of C1) in the
test's database, so the refusals are checked on real objects of another scope.
"""


def _category():
    from sqlalchemy import select

    from timebank.catalogue import operations as catalogue

    from timebank.catalogue.data import DISTRICT_CATALOGUE
    from timebank.extensions import db
    from timebank.catalogue.models import PostCategory

    catalogue.ensure_catalogue(DISTRICT_CATALOGUE)
    return db.session.execute(select(PostCategory).order_by(PostCategory.id)).scalars().first()


def demand(t, withdrawn=False) -> int:
    from timebank.extensions import db
    from timebank.lists import operations

    d = operations.create_demand(None, operations.DemandData(community=t.C1,
                                                             category=_category(), title="需求"))
    if withdrawn:
        operations.withdraw_demand(None, d)
    db.session.commit()
    return d.id


def resource(t, withdrawn=False) -> int:
    from timebank.extensions import db
    from timebank.lists import operations

    r = operations.create_resource(None, operations.ResourceData(
        kind="volunteers", title="资源", area=t.S1), unit=t.U1)
    if withdrawn:
        operations.withdraw_resource(None, r)
    db.session.commit()
    return r.id


def project(t) -> int:
    from timebank.extensions import db
    from timebank.lists import operations

    p = operations.create_project(None, t.C1, "项目")
    db.session.commit()
    return p.id


ANY_LOGGED_IN = {"lists.index", "lists.demands", "lists.resources", "lists.projects",
                 "lists.project"}

SCOPED = {
    "lists.new_demand": lambda t: [("GET", "/lists/demands/new", u, 403)
                                   for u in ("member", "liaison")],
    "lists.demand": lambda t: [("GET", f"/lists/demands/{demand(t, withdrawn=True)}", u, 404)
                               for u in ("staff3", "member", "street_admin2")],
    "lists.edit_demand": lambda t: [("GET", f"/lists/demands/{demand(t)}/edit", u, 404)
                                    for u in ("staff3", "member", "street_admin2", "liaison")],
    "lists.withdraw_demand": lambda t: [("POST", f"/lists/demands/{demand(t)}/withdraw", u, 404)
                                        for u in ("staff3", "member")],
    "lists.new_resource": lambda t: [("GET", "/lists/resources/new", u, 403)
                                     for u in ("staff", "district_admin")],
    "lists.resource": lambda t: [("GET", f"/lists/resources/{resource(t, withdrawn=True)}", u,
                                  404) for u in ("liaison2", "staff")],
    "lists.edit_resource": lambda t: [("GET", f"/lists/resources/{resource(t)}/edit", u, 404)
                                      for u in ("liaison2", "staff", "member")],
    "lists.withdraw_resource": lambda t: [
        ("POST", f"/lists/resources/{resource(t)}/withdraw", u, 404) for u in ("liaison2",)],
    "lists.new_project": lambda t: [("GET", "/lists/projects/new", u, 403)
                                    for u in ("member", "liaison")],
    "lists.claim_project": lambda t: [("POST", f"/lists/projects/{project(t)}/claim", u, 403)
                                      for u in ("staff", "district_admin")],
    "lists.add_note": lambda t: [("POST", f"/lists/projects/{project(t)}/notes", u, 403)
                                 for u in ("staff3", "member", "liaison")],
    "lists.attach_demand": lambda t: [("POST", f"/lists/projects/{project(t)}/demands", u, 404)
                                      for u in ("staff3", "member")],
    "lists.assign_resource": lambda t: [
        ("POST", f"/lists/projects/{project(t)}/resources", u, 404) for u in ("staff3", "member")],
    "lists.project_status": lambda t: [("POST", f"/lists/projects/{project(t)}/status", u, 404)
                                       for u in ("staff3", "member", "street_admin2")],
    "lists.generate_post": lambda t: [("GET", f"/lists/projects/{project(t)}/posts/new", u, 404)
                                      for u in ("staff3", "liaison")],
}
