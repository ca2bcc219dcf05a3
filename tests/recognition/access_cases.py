"""Access declarations for the recognition pages (see tests/test_access.py).

Award list ids below do not exist in the access test's data, so every user gets 404 for them
(a list outside one's scope is indistinguishable from a missing one)."""

ANY_LOGGED_IN = {"recognition.awards"}


def _unknown_list(method, url):
    return lambda t: [(method, url, user, 404) for user in ("district_admin", "member")]


SCOPED = {
    "recognition.rankings": lambda t: [
        ("GET", "/recognition/rankings", "member", 403),
        ("GET", f"/recognition/rankings?scope={t.C3.id}", "street_admin", 404),
        ("GET", f"/recognition/rankings?scope={t.U2.id}", "liaison", 404),
        ("GET", f"/recognition/rankings?scope={t.C1.id}", "staff3", 404),
    ],
    "recognition.rankings_xlsx": lambda t: [
        ("GET", "/recognition/rankings.xlsx", "member", 403),
        ("GET", f"/recognition/rankings.xlsx?scope={t.S2.id}", "street_admin", 404),
    ],
    "recognition.stars": lambda t: [
        ("GET", "/recognition/stars", "street_admin", 403),
        ("POST", "/recognition/stars", "staff", 403),
        ("GET", "/recognition/stars", "member", 403),
    ],
    "recognition.member": lambda t: [
        ("GET", "/recognition/members/999999", "district_admin", 404),
        ("GET", "/recognition/members/999999", "member", 404),
    ],
    "recognition.me": lambda t: [("GET", "/recognition/me", "street_admin", 404)],
    "recognition.draw": lambda t: [
        ("POST", "/recognition/awards", "member", 403),
        ("POST", "/recognition/awards", "staff", 403),
        ("POST", "/recognition/awards", "liaison", 403),
    ],
    **{endpoint: _unknown_list(method, url) for endpoint, method, url in (
        ("recognition.award", "GET", "/recognition/awards/999999"),
        ("recognition.award_xlsx", "GET", "/recognition/awards/999999.xlsx"),
        ("recognition.publish", "POST", "/recognition/awards/999999/publish"),
        ("recognition.freeze", "POST", "/recognition/awards/999999/freeze"),
        ("recognition.delete", "POST", "/recognition/awards/999999/delete"),
        ("recognition.remove_nominee", "POST", "/recognition/awards/999999/nominees/1/remove"),
        ("recognition.object_", "POST", "/recognition/awards/999999/objections"),
        ("recognition.resolve", "POST", "/recognition/awards/999999/objections/1/resolve"),
    )},
}
