from sqlalchemy import func, select

from timebank.catalogue.models import PostCategory, PostKind


def test_catalogue_command_loads_the_34_kinds_once(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["posts", "catalogue"])
    assert result.exit_code == 0 and "34 post kinds added" in result.output
    assert runner.invoke(args=["posts", "catalogue"]).output.startswith("0 post kinds")
    assert db.session.execute(select(func.count()).select_from(PostCategory)).scalar_one() == 3
    assert db.session.execute(select(func.count()).select_from(PostKind)).scalar_one() == 34


def test_tasks_command_runs_every_job(app, db, tree):
    result = app.test_cli_runner().invoke(args=["posts", "tasks"])
    assert result.exit_code == 0, result.output
    assert "close_past_deadline: 0 posts closed" in result.output
    assert "send_reminders: 0 reminders sent" in result.output
