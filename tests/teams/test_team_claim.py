"""Team claims: the leader takes N places of a session for named team members in one step,
each place a real claim through the posts claim; all or nothing (too few places, or one member
refused, writes nothing); only the leader; two leaders racing for the last places (SQLite and
PostgreSQL, whichever the suite runs on): capacity holds and one team claim wins whole."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.parallel import run_parallel

from timebank.core.errors import Invalid
from timebank.posts import operations as posts_ops
from timebank.posts.models import Claim, ClaimStatus, PostSession
from timebank.teams import operations
from timebank.teams.models import TeamClaim, TeamClaimPlace


def _active(db, session_id, member_ids=None):
    stmt = select(func.count()).select_from(Claim).where(
        Claim.session_id == session_id, Claim.status == ClaimStatus.ACTIVE.value)
    if member_ids is not None:
        stmt = stmt.where(Claim.member_id.in_(member_ids))
    return db.session.execute(stmt).scalar_one()


def _counter(db, session_id):
    db.session.expire_all()
    return db.session.get(PostSession, session_id).claimed


def _count(db, model):
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def squad(tree, make_team, make_member, member_of):
    """A C1 team led by ``tree.member`` with three more members."""
    others = [make_member(name=f"队员{i}") for i in range(3)]
    team = make_team(tree.member, *(m.user for m in others))
    return team, [member_of(tree.member), *others]


def test_leader_claims_places_for_named_members(client, db, tree, make_post, squad):
    team, people = squad
    post = make_post(capacity=5)
    session = post.sessions[0]
    client.login(tree.member)
    page = client.get(f"/teams/{team.id}/claim")
    assert page.status_code == 200 and post.title in page.text and "队员0" in page.text
    named = [people[1].id, people[2].id, people[3].id]
    r = client.post(f"/teams/{team.id}/claim", data={"session_id": session.id,
                                                     "member_ids": named})
    assert r.status_code == 302
    assert _counter(db, session.id) == 3 and _active(db, session.id, named) == 3
    tc = db.session.execute(select(TeamClaim)).scalar_one()
    assert sorted(p.member_id for p in tc.places) == sorted(named)
    # Each place is an ordinary claim of the member (their own claims list shows it).
    claim_ids = {p.claim_id for p in tc.places}
    assert claim_ids == set(db.session.execute(select(Claim.id).where(
        Claim.member_id.in_(named))).scalars())
    page = client.get(f"/teams/{team.id}")
    assert "团队认领记录" in page.text and post.title in page.text


def test_fewer_places_than_named_refuses_the_whole_team_claim(client, db, tree, make_post,
                                                             make_member, squad):
    team, people = squad
    post = make_post(capacity=2)
    session = post.sessions[0]
    outsider = make_member()
    posts_ops.claim(None, outsider, post, session=session)
    db.session.commit()
    client.login(tree.member)
    r = client.post(f"/teams/{team.id}/claim", data={"session_id": session.id,
                                                     "member_ids": [people[1].id, people[2].id]})
    assert r.status_code == 400
    assert "该场次只剩 1 个名额" in r.text and "未认领任何名额" in r.text
    assert _counter(db, session.id) == 1 and _active(db, session.id) == 1
    assert _count(db, TeamClaim) == 0 and _count(db, TeamClaimPlace) == 0


def test_one_member_refused_means_nothing_is_claimed(client, db, tree, make_post, squad):
    team, people = squad
    post = make_post(capacity=5)
    session = post.sessions[0]
    # people[2] has claimed this session already; people[3] has another post at the same time.
    posts_ops.claim(None, people[2], post, session=session)
    clash = make_post(capacity=5, title="同时段岗位")
    posts_ops.claim(None, people[3], clash, session=clash.sessions[0])
    db.session.commit()
    client.login(tree.member)
    r = client.post(f"/teams/{team.id}/claim", data={"session_id": session.id,
                                                     "member_ids": [people[1].id, people[2].id]})
    assert r.status_code == 400 and "队员1：" in r.text and "认领过" in r.text
    assert _active(db, session.id) == 1 and _counter(db, session.id) == 1
    r = client.post(f"/teams/{team.id}/claim", data={"session_id": session.id,
                                                     "member_ids": [people[1].id, people[3].id]})
    assert r.status_code == 400 and "队员2" in r.text and "同时段岗位" in r.text
    assert _active(db, session.id) == 1 and _counter(db, session.id) == 1
    assert _active(db, session.id, [people[1].id]) == 0
    assert _count(db, TeamClaim) == 0


def test_only_the_leader_claims_and_only_for_team_members(client, db, tree, make_post,
                                                          make_member, squad):
    team, people = squad
    post = make_post(capacity=5)
    session = post.sessions[0]
    client.login(people[1].user)
    assert client.get(f"/teams/{team.id}/claim").status_code == 403
    assert client.post(f"/teams/{team.id}/claim", data={
        "session_id": session.id, "member_ids": [people[1].id]}).status_code == 403
    with pytest.raises(operations.NotTeamLeader):
        operations.team_claim(people[1].user, team, session, [people[1]])
    db.session.rollback()
    stranger = make_member(name="队外党员")
    with pytest.raises(Invalid) as e:
        operations.team_claim(tree.member, team, session, [people[1], stranger])
    assert "队外党员" in str(e.value.message)
    db.session.rollback()
    with pytest.raises(Invalid):
        operations.team_claim(tree.member, team, session, [])
    db.session.rollback()
    assert _counter(db, session.id) == 0 and _count(db, TeamClaim) == 0


def test_inactive_team_cannot_claim(db, tree, make_post, squad):
    team, people = squad
    post = make_post(capacity=5)
    operations.set_active(tree.staff, team, False)
    with pytest.raises(operations.TeamInactive):
        operations.team_claim(tree.member, team, post.sessions[0], [people[1]])
    db.session.rollback()


def test_two_leaders_race_for_the_last_places(app, db, tree, make_post, make_member, make_team,
                                              member_of):
    """Two team claims of 2 places each, at the same moment, for a session with 3 places left:
    one wins both places, the other is refused whole; capacity is never exceeded."""
    for round_ in range(3):
        post = make_post(capacity=4)
        session_id, post_id = post.sessions[0].id, post.id
        posts_ops.claim(None, make_member(), post, session=post.sessions[0])
        db.session.commit()
        teams = []
        for side in "AB":
            lead, mate = make_member(name=f"{side}队长"), make_member(name=f"{side}队员")
            team = make_team(lead.user, mate.user, name=f"{side}队{round_}")
            teams.append((team.id, lead.user_id, [lead.id, mate.id]))

        def claim_as(team_id, user_id, member_ids):
            def job():
                from timebank.accounts.models import User
                from timebank.members.models import Member
                from timebank.teams.models import Team

                return operations.team_claim(
                    db.session.get(User, user_id), db.session.get(Team, team_id),
                    db.session.get(PostSession, session_id),
                    [db.session.get(Member, m) for m in member_ids])
            return job

        results = run_parallel(app, db, [claim_as(*t) for t in teams])
        won = [i for i, r in enumerate(results) if isinstance(r, TeamClaim)]
        lost = [r for r in results if isinstance(r, operations.TeamClaimTooFew)]
        assert len(won) == 1 and len(lost) == 1, results
        assert lost[0].details["left"] == 1
        assert _counter(db, session_id) == 3 and _active(db, session_id) == 3
        winner_ids, loser_ids = teams[won[0]][2], teams[1 - won[0]][2]
        assert _active(db, session_id, winner_ids) == 2
        assert _active(db, session_id, loser_ids) == 0
        assert db.session.execute(select(func.count()).select_from(TeamClaim).where(
            TeamClaim.session_id == session_id)).scalar_one() == 1
        assert post_id


def test_a_member_at_their_monthly_limit_refuses_the_team_claim(db, tree, make_post, squad):
    from timebank.members import operations as members_ops

    team, people = squad
    members_ops.save_profile(None, people[2], max_sessions_per_month=1)
    # The same day (so the same month whatever the date), earlier that morning.
    earlier = make_post(capacity=5, days=(3,), start="07:00", end="08:00")
    posts_ops.claim(None, people[2], earlier, session=earlier.sessions[0])
    post = make_post(capacity=5, days=(3,))
    db.session.commit()
    with pytest.raises(operations.TeamClaimRefused) as e:
        operations.team_claim(tree.member, team, post.sessions[0], [people[1], people[2]])
    assert e.value.details["reason"] == "monthly_limit" and "队员1" in str(e.value.message)
    db.session.rollback()
    assert _counter(db, post.sessions[0].id) == 0 and _count(db, TeamClaim) == 0
