"""`flask --app wsgi ...` commands for operators."""

import os
import sys

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from app.users.schemas import PASSWORD_LENGTH, validate_username

users_cli = AppGroup("users", help="Staff accounts.")
demo_cli = AppGroup("demo", help="Demo data for a first look.")


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
def create_admin(username, full_name, password_stdin):
    """Create an admin. The password comes from stdin or ADMIN_PASSWORD, never a flag."""
    from app.users.services import create_user, find_by_username

    try:
        validate_username(username)
    except ValidationError as error:
        raise click.UsageError(f"Username: {' '.join(error.messages)}") from None
    if find_by_username(username) is not None:
        raise click.ClickException(f"The username {username!r} is taken.")
    password = _read_password(password_stdin)
    user = create_user(username=username, full_name=full_name, role="admin", password=password)
    click.echo(f"Created admin {user.username} (id {user.id}).")


@demo_cli.command("seed")
def seed():
    """Load idempotent demo data: users of every role (and, as features land, a catalog and sales)."""
    from flask import current_app

    from app.demo import seed_demo_data

    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("Demo data is not loaded in production.")
    for line in seed_demo_data():
        click.echo(line)


def register_cli(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
