import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "posts"))

from posts_fixtures import (catalogue, live_server, make_member, make_post,  # noqa: E402,F401
                            member_of)


@pytest.fixture
def make_team(db, tree):
    """``make_team(leader_user, *member_users, owner=C1, name=None, kind="grid")`` -> a committed
    Team led by ``leader_user`` with the other users enrolled (staff of C1 acting)."""
    import itertools

    from sqlalchemy import select

    from timebank.members.models import Member
    from timebank.teams import operations

    def member_row(user):
        return db.session.execute(select(Member).where(Member.user_id == user.id)).scalar_one()

    seq = itertools.count(1)

    def make(leader, *members, owner=None, name=None, kind="grid", actor=None):
        team = operations.create_team(actor or tree.staff, owner or tree.C1,
                                      name or f"服务队{next(seq)}", kind, member_row(leader))
        for user in members:
            operations.enrol(actor or tree.staff, team, member_row(user))
        db.session.commit()
        return team

    return make
