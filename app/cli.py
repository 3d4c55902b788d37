"""`flask --app wsgi ...` commands for operators."""

import os
import sys
from functools import wraps

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from app.domain import DomainError
from app.users.models import Role
from app.users.schemas import PASSWORD_LENGTH, validate_username

users_cli = AppGroup("users", help="Staff accounts.")
demo_cli = AppGroup("demo", help="Demo data for a first look.")
reports_cli = AppGroup("reports", help="Report summaries.")


def refusals_exit(command):
    """A service's refusal (a DomainError) is printed as "Error: <message>" and exits 1, not as a traceback."""

    @wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DomainError as error:
            raise click.ClickException(error.message) from None

    return run


def _read_password(password_stdin):
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = os.environ.get("ADMIN_PASSWORD", "")
    if not password:
        raise click.UsageError("Give the password on standard input with --password-stdin, or in ADMIN_PASSWORD.")
    try:
        PASSWORD_LENGTH(password)
    except ValidationError as error:
        raise click.UsageError(f"Password: {' '.join(error.messages)}") from None
    return password


@users_cli.command("create-admin")
@click.option("--username", required=True, help="The new admin's username.")
@click.option("--full-name", default="Administrator", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@refusals_exit
def create_admin(username, full_name, password_stdin):
    """Create an admin. The password comes from stdin or ADMIN_PASSWORD, never a flag."""
    from app.auth.passwords import WeakPassword
    from app.users.services import create_user, find_by_username

    try:
        validate_username(username)
    except ValidationError as error:
        raise click.UsageError(f"Username: {' '.join(error.messages)}") from None
    if find_by_username(username) is not None:
        raise click.ClickException(f"The username {username!r} is taken.")
    password = _read_password(password_stdin)
    try:
        user = create_user(username=username, full_name=full_name, role=Role.ADMIN, password=password)
    except WeakPassword as error:
        raise click.UsageError(f"Password: {' '.join(error.reasons)}") from None
    click.echo(f"Created admin {user.username} (id {user.id}).")


@demo_cli.command("seed")
@refusals_exit
def seed():
    """Load idempotent demo data: users of every role (and, as features land, a catalog and sales)."""
    from flask import current_app

    from app.demo import seed_demo_data

    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("Demo data is not loaded in production.")
    for line in seed_demo_data():
        click.echo(line)


@reports_cli.command("rebuild")
@click.option("--from", "date_from", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day, YYYY-MM-DD.")
@click.option("--to", "date_to", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, YYYY-MM-DD.")
@refusals_exit
def rebuild(date_from, date_to):
    """Rebuild the daily summaries of a range of closed days (each day replaced whole)."""
    from app.reports.summaries import build_range
    from app.stores.services import current_store_id

    if date_from > date_to:
        raise click.UsageError("--from must not be after --to.")
    built = build_range(current_store_id(), date_from.date(), date_to.date())
    click.echo(f"Built {built} days of summaries.")


def register_cli(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(reports_cli)
