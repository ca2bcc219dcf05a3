"""The ``timebank`` command (also reachable as ``flask --app wsgi ...``).

Commands parse arguments, call operations and commit once; they hold no logic of their own.
"""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from timebank.core.cli import fail
from timebank.extensions import db


def main() -> None:
    from timebank import create_app

    cli = FlaskGroup(create_app=lambda: create_app(), help="时间银行 · timebank")
    cli.main(prog_name="timebank")


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(users)
    app.cli.add_command(orgs_group)
    for group in _feature_groups():
        app.cli.add_command(group)
    from timebank.ops import commands as ops_commands

    for command in ops_commands.COMMANDS:
        app.cli.add_command(command)


def _feature_groups() -> list[click.Command]:
    """Command groups of feature packages (``<feature>/commands.py`` exposing ``group``)."""
    import importlib

    groups = []
    for name in ("members", "ledger", "posts", "matching", "recognition", "reports", "jobs"):
        try:
            module = importlib.import_module(f"timebank.{name}.commands")
        except ModuleNotFoundError as e:
            if not f"timebank.{name}.commands".startswith(e.name or "?"):
                raise
            continue
        groups.append(module.group)
    return groups


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has data.")
@with_appcontext
def seed_demo(if_empty: bool) -> None:
    """Load the deterministic demo district (Chinese names, every role)."""
    from timebank import demo

    if demo.has_data():
        if not if_empty:
            fail("The database already has data; seed-demo only runs on an empty database.")
        click.echo("Database already has data; demo data not loaded.")
    else:
        summary = demo.seed()
        db.session.commit()
        click.echo(summary)
    click.echo(demo.logins_text())


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the job scheduler in this process (one per installation)."""
    from timebank.jobs import runner

    runner.run_forever()


@click.group()
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.option("--phone", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True,
              type=click.Choice(["district_admin", "street_admin", "community_staff",
                                 "unit_liaison", "member"]))
@click.option("--org", "org_code", required=True, help="Code of the organisation node.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(phone, name, role, org_code, password_stdin) -> None:
    """Create an account with a role (how the first admin of an installation is made)."""
    from timebank.accounts import operations as accounts
    from timebank.accounts.models import Role
    from timebank.core.errors import DomainError
    from timebank.members import operations as members
    from timebank.orgs import queries as orgs

    org = orgs.by_code(org_code)
    if org is None:
        fail(f"No organisation with code {org_code!r}.")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.find_by_phone(phone)
        if user is None:
            user = accounts.create_user(None, phone, name, password)
        if role == Role.MEMBER:
            members.create_approved_member(None, user, org)
        else:
            accounts.assign_role(None, user, role, org)
    except DomainError as e:
        db.session.rollback()
        fail(f"Error: {e.message}")
    db.session.commit()
    click.echo(f"Created {user.name} ({user.phone}) as {role} on {org.code} {org.name}.")


@click.group("orgs")
def orgs_group() -> None:
    """Manage the organisation tree."""


@orgs_group.command("add")
@click.option("--kind", required=True,
              type=click.Choice(["district", "street", "community", "grid", "unit"]))
@click.option("--name", required=True)
@click.option("--code", default=None, help="Stable code; generated from the parent's if omitted.")
@click.option("--parent", "parent_code", default=None, help="Code of the parent node.")
@with_appcontext
def orgs_add(kind, name, code, parent_code) -> None:
    """Add a node (a new installation starts with its district)."""
    from timebank.core.errors import DomainError
    from timebank.orgs import operations
    from timebank.orgs import queries as orgs

    parent = None
    if parent_code:
        parent = orgs.by_code(parent_code)
        if parent is None:
            fail(f"No organisation with code {parent_code!r}.")
    try:
        node = operations.create_node(None, parent, kind, name, code)
    except DomainError as e:
        db.session.rollback()
        fail(f"Error: {e.message}")
    db.session.commit()
    click.echo(f"Added {node.kind} {node.code} {node.name}.")


@orgs_group.command("list")
@with_appcontext
def orgs_list() -> None:
    """Print the tree with codes."""
    from sqlalchemy import select

    from timebank.orgs.models import OrgNode

    for node in db.session.execute(select(OrgNode).order_by(OrgNode.path)).scalars():
        depth = node.path.count("/") - 2
        flag = "" if node.active else "  (inactive)"
        click.echo(f"{'  ' * depth}{node.code}  {node.name}  [{node.kind}]{flag}")
