"""Access declarations for the foundation's routes (see tests/test_access.py)."""

ANY_LOGGED_IN = {"home.index", "auth.account", "auth.logout_everywhere", "inbox.index",
                 "inbox.read_all"}

SCOPED = {
    "orgs.tree": lambda t: [("GET", "/orgs/", "member", 403), ("GET", "/orgs/", "liaison", 403)],
    "orgs.node": lambda t: [
        ("GET", f"/orgs/{t.C3.id}", "street_admin", 404),
        ("GET", f"/orgs/{t.S1.id}", "staff", 404),
        ("GET", f"/orgs/{t.C1.id}", "member", 404),
        ("GET", f"/orgs/{t.U1.id}", "liaison", 404),
    ],
    "orgs.add_child": lambda t: [
        ("POST", f"/orgs/{t.C3.id}/children", "street_admin", 404),
        ("POST", f"/orgs/{t.S1.id}/children", "staff", 404),
    ],
    "orgs.rename": lambda t: [("POST", f"/orgs/{t.C3.id}/rename", "street_admin", 404)],
    "orgs.move": lambda t: [
        ("POST", f"/orgs/{t.C3.id}/move", "street_admin", 404),
        # Staff manage their community but may not move it out of the street.
        ("POST", f"/orgs/{t.C1.id}/move", "staff", 403),
    ],
    "orgs.set_active": lambda t: [
        ("POST", f"/orgs/{t.C3.id}/active", "street_admin", 404),
        ("POST", f"/orgs/{t.S1.id}/active", "street_admin", 403),
    ],
    "orgs.assign_role": lambda t: [
        ("POST", f"/orgs/{t.C3.id}/roles", "street_admin", 404),
        ("POST", f"/orgs/{t.C1.id}/roles", "member", 404),
    ],
    "orgs.revoke_role": lambda t: [
        ("POST", f"/orgs/{t.C3.id}/roles/1/revoke", "street_admin", 404),
    ],
    "inbox.open_message": lambda t: [("POST", "/inbox/999999/open", "member", 404)],
}
