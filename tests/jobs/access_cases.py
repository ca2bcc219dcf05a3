"""Access declarations for the jobs admin page (district admins only)."""

SCOPED = {
    "jobs.index": lambda t: [("GET", "/jobs/", user, 403)
                             for user in ("street_admin", "staff", "liaison", "member")],
    "jobs.detail": lambda t: [("GET", "/jobs/ledger.verify", "street_admin", 403),
                              ("GET", "/jobs/ledger.verify", "member", 403)],
    "jobs.run_now": lambda t: [("POST", "/jobs/ledger.verify/run", "street_admin", 403),
                               ("POST", "/jobs/ledger.verify/run", "staff", 403),
                               ("POST", "/jobs/ledger.verify/run", "member", 403)],
}
