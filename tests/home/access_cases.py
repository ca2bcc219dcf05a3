"""Access declarations for the home pages (see tests/test_access.py). ``home.index`` is open to
any logged-in user (declared with the orgs cases)."""

SCOPED = {
    # Only the unit's liaison (or an admin above it) reminds its members; another unit, a
    # member of another unit, or anyone else: 404.
    "home.remind": lambda t: [
        ("POST", f"/home/units/{t.U2.id}/members/1/remind", "liaison", 404),
        ("POST", f"/home/units/{t.U1.id}/members/1/remind", "staff", 404),
        ("POST", f"/home/units/{t.U1.id}/members/1/remind", "member", 404),
        ("POST", f"/home/units/{t.U1.id}/members/1/remind", "street_admin", 404),
        ("POST", f"/home/units/{t.C1.id}/members/1/remind", "district_admin", 404),
        ("POST", f"/home/units/{t.U1.id}/members/999999/remind", "liaison", 404),
    ],
}
