"""Access declarations for the teams routes (see tests/test_access.py).

A C1 team led by ``member`` (created once per tree). C1's staff, S1's admin and the district
manage it; its members see it; staff of C3 and members outside it get 404 for its id. A member
who sees it but does not manage it gets 403 on staff actions; staff get 403 on the team claim
(the leader's).
"""


def _team(t):
    if not hasattr(t, "team"):
        from sqlalchemy import select

        from timebank.extensions import db
        from timebank.members.models import Member
        from timebank.teams import operations

        leader = db.session.execute(select(Member).where(Member.user_id == t.member.id)).scalar_one()
        t.team = operations.create_team(t.staff, t.C1, "测试服务队", "grid", leader)
        t.leader_row = operations.current_membership(t.team, leader)
        db.session.commit()
    return t.team


OUTSIDERS = ("staff3", "street_admin2", "member3", "liaison")


def _outsiders(method, path, member_status=None, staff_status=None):
    def build(t):
        team = _team(t)
        url = path.format(id=team.id, m=t.leader_row.id)
        cases = [(method, url, who, 404) for who in OUTSIDERS]
        if member_status:
            cases.append((method, url, "member", member_status))
        if staff_status:
            cases.append((method, url, "staff", staff_status))
        return cases
    return build


SCOPED = {
    "teams.index": lambda t: [("GET", "/teams/", "member", 403), ("GET", "/teams/", "liaison", 403)],
    "teams.mine": lambda t: [("GET", "/teams/mine", "staff", 403),
                             ("GET", "/teams/mine", "liaison", 403)],
    "teams.new": lambda t: [("GET", "/teams/new", "member", 403),
                            ("POST", "/teams/new", "member", 403),
                            ("GET", "/teams/new", "liaison", 403)],
    "teams.detail": _outsiders("GET", "/teams/{id}"),
    "teams.enrol": _outsiders("POST", "/teams/{id}/members", member_status=403),
    "teams.remove": _outsiders("POST", "/teams/{id}/members/{m}/remove", member_status=403),
    "teams.make_leader": _outsiders("POST", "/teams/{id}/members/{m}/leader", member_status=403),
    "teams.set_active": _outsiders("POST", "/teams/{id}/active", member_status=403),
    "teams.claim": _outsiders("GET", "/teams/{id}/claim", staff_status=403),
}
