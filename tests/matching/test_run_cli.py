"""``timebank match run`` on the database."""
from sqlalchemy import select

from timebank.matching.models import MatchRun, Proposal


def test_match_run_for_a_community_stores_proposals(app, db, tree, make_post, make_member):
    m = make_member()
    make_member(community=tree.C2)
    post = make_post(community=tree.C1, capacity=1)
    make_post(community=tree.C2, capacity=1)
    result = app.test_cli_runner().invoke(args=["match", "run", "--community", "C1"])
    assert result.exit_code == 0, result.output
    assert "1 post proposals" in result.output and "solve" in result.output
    (p,) = db.session.execute(select(Proposal)).scalars().all()
    assert (p.member_id, p.post_id) == (m.id, post.id)
    run = db.session.execute(select(MatchRun)).scalar_one()
    assert run.scope_id == tree.C1.id and run.origin == "cli" and run.proposals == 1


def test_match_run_by_street_id_and_everywhere(app, db, tree, make_post, make_member):
    make_member()
    make_member(community=tree.C2)
    make_post(community=tree.C1, capacity=1)
    make_post(community=tree.C2, capacity=1)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["match", "run", "--street", str(tree.S1.id)])
    assert result.exit_code == 0, result.output
    assert "2 post proposals" in result.output
    result = runner.invoke(args=["match", "run"])
    assert result.exit_code == 0 and "2 superseded" in result.output


def test_match_run_refuses_unknown_or_wrong_scope(app, db, tree):
    runner = app.test_cli_runner()
    for args in (["--community", "NOPE"], ["--community", "S1"], ["--street", "C1"],
                 ["--community", "C1", "--street", "S1"]):
        result = runner.invoke(args=["match", "run", *args])
        assert result.exit_code == 2, (args, result.output)
    assert db.session.execute(select(MatchRun)).first() is None
