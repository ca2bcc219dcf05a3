"""Access declarations for the ledger's routes (see tests/test_access.py)."""


def _member_id(user) -> int:
    from sqlalchemy import select

    from timebank.extensions import db
    from timebank.members.models import Member

    return db.session.execute(select(Member.id).where(Member.user_id == user.id)).scalar_one()


def _tx(t) -> int:
    """A deposit for member3 (community C3), made once."""
    from timebank.extensions import db
    from timebank.ledger import operations
    from timebank.members.models import Member

    member = db.session.get(Member, _member_id(t.member3))
    tx = operations.deposit(None, member, 60, source_type="access", source_id=1, reason="")
    db.session.commit()
    return tx.id


def _member_pages(suffix="", method="GET"):
    def cases(t):
        m, m3 = _member_id(t.member), _member_id(t.member3)
        return [
            (method, f"/ledger/members/{m3}{suffix}", "staff", 404),
            (method, f"/ledger/members/{m3}{suffix}", "member", 404),
            (method, f"/ledger/members/{m}{suffix}", "liaison", 404),
            (method, f"/ledger/members/{m}{suffix}", "street_admin2", 404),
        ]
    return cases


def _own_only(suffix):
    """Only the member themself: staff who can see the page get 403."""
    def cases(t):
        return _member_pages(suffix, "POST")(t) + [
            ("POST", f"/ledger/members/{_member_id(t.member)}{suffix}", "staff", 403)]
    return cases


SCOPED = {
    "ledger.mine": lambda t: [("GET", "/ledger/", "liaison", 403)],
    "ledger.member": _member_pages(),
    "ledger.export_xlsx": _member_pages("/statement.xlsx"),
    "ledger.export_pdf": _member_pages("/statement.pdf"),
    "ledger.relay": _own_only("/relay"),
    "ledger.redeem": lambda t: _member_pages("/redeem", "POST")(t) + [
        ("POST", f"/ledger/members/{_member_id(t.member)}/redeem", "member", 403)],
    "ledger.add_beneficiary": _member_pages("/family", "POST"),
    "ledger.remove_beneficiary": lambda t: _member_pages("/family/1/remove", "POST")(t) + [
        ("POST", f"/ledger/members/{_member_id(t.member)}/family/999999/remove", "member",
         404)],
    "ledger.transaction": lambda t: [
        ("GET", f"/ledger/transactions/{_tx(t)}", "staff", 404),
        ("GET", f"/ledger/transactions/{_tx(t)}", "member", 404),
        ("GET", f"/ledger/transactions/{_tx(t)}", "street_admin", 404),
        ("GET", "/ledger/transactions/999999", "district_admin", 404),
    ],
    "ledger.reverse": lambda t: [
        ("POST", f"/ledger/transactions/{_tx(t)}/reverse", "staff", 404),
        # The member sees their own entry but may not reverse it.
        ("POST", f"/ledger/transactions/{_tx(t)}/reverse", "member3", 403),
    ],
    "ledger.overview": lambda t: [("GET", "/ledger/overview", "member", 403),
                                  ("GET", "/ledger/overview", "liaison", 403)],
    "ledger.community": lambda t: [
        ("GET", f"/ledger/communities/{t.C3.id}", "staff", 404),
        ("GET", f"/ledger/communities/{t.C3.id}", "street_admin", 404),
        ("GET", f"/ledger/communities/{t.C1.id}", "member", 404),
        ("GET", f"/ledger/communities/{t.S1.id}", "street_admin", 404),  # not a community
    ],
    "ledger.edit_rules": lambda t: [
        ("GET", "/ledger/rules", "street_admin", 403),
        ("GET", "/ledger/rules", "staff", 403),
        ("POST", "/ledger/rules", "member", 403),
    ],
}
