"""Access declarations for the reports pages (see tests/test_access.py)."""

SCOPED = {
    "reports.units": lambda t: [("GET", "/reports/units", u, 403)
                                for u in ("member", "staff")],
    "reports.unit": lambda t: [
        ("GET", f"/reports/units/{t.U2.id}", "liaison", 404),
        ("GET", f"/reports/units/{t.U1.id}", "staff", 404),
        ("GET", f"/reports/units/{t.U1.id}", "member", 404),
        ("GET", f"/reports/units/{t.C1.id}", "district_admin", 404),
    ],
    "reports.unit_card": lambda t: [
        ("GET", f"/reports/units/{t.U2.id}/card", "liaison", 404),
        ("GET", f"/reports/units/{t.U1.id}/card.pdf", "member", 404),
    ],
    "reports.stored_card": lambda t: [("GET", "/reports/cards/999999", "liaison", 404)],
    "reports.evaluations": lambda t: [
        ("GET", "/reports/members/999999/evaluations", "staff", 404),
    ],
    "reports.delete_evaluation": lambda t: [
        ("POST", "/reports/evaluations/999999/delete", "staff", 404),
    ],
    "reports.dashboard_page": lambda t: [
        ("GET", "/reports/dashboard", "staff", 403),
        ("GET", "/reports/dashboard", "liaison", 403),
        ("GET", "/reports/dashboard", "member", 403),
        ("GET", f"/reports/dashboard?scope={t.S2.id}", "street_admin", 404),
        ("GET", f"/reports/dashboard?scope={t.D.id}", "street_admin", 404),
    ],
    "reports.dashboard_xlsx": lambda t: [
        ("GET", "/reports/dashboard.xlsx", "staff", 403),
        ("GET", f"/reports/dashboard.xlsx?scope={t.S2.id}", "street_admin", 404),
    ],
}
