"""`flask --app app vigil ...`: set-up commands for the database, the admin account and API tokens."""
from __future__ import annotations

import secrets
import time

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from app.extensions import db
from app.models import Monitor, User


@click.group()
def vigil() -> None:
    """Vigil set-up commands."""


def seed_monitor() -> Monitor | None:
    """Seed one monitor on Vigil's own /healthz, only into an empty database."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Monitor)):
        return None
    monitor = Monitor(name="Vigil itself", url=current_app.config["VIGIL_SEED_URL"],
                      method="GET", interval_minutes=1, timeout_seconds=5,
                      expected_status_min=200, expected_status_max=299)
    db.session.add(monitor)
    db.session.commit()
    return monitor


def ensure_admin() -> tuple[User, str | None]:
    """Create the admin account if missing; return it and the password if one was generated.

    ``user.created`` tells whether this call made the account.
    """
    username = current_app.config["VIGIL_ADMIN_USER"]
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is not None:
        user.created = False
        return user, None
    password = current_app.config["VIGIL_ADMIN_PASSWORD"]
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    user = User(username=username)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    user.created = True
    return user, generated


@vigil.command("wait-for-database")
@click.option("--timeout", type=click.FloatRange(min=0), default=300.0, show_default=True,
              help="Seconds to wait before giving up (exit 1).")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between attempts.")
@with_appcontext
def wait_for_database_command(timeout: float, interval: float) -> None:
    """Wait until the database accepts a connection: the migration Job's first step, so a
    database that is still starting (the chart's in-cluster one, on install) costs a wait,
    not a failed pod and a retry. Prints the driver's reason, never the URL (it holds the
    password)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with db.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            click.echo("the database answers")
            return
        except sa.exc.DBAPIError as exc:
            reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        if time.monotonic() >= deadline:
            raise click.ClickException(f"the database did not answer within {timeout:g} s: {reason}")
        click.echo(f"waiting for the database: {reason}")
        time.sleep(interval)


@vigil.command("seed")
@with_appcontext
def seed_command() -> None:
    """Add the self-check monitor to an empty database."""
    monitor = seed_monitor()
    click.echo(f"seeded monitor {monitor.name!r}" if monitor else "monitors exist; nothing seeded")


@vigil.command("create-admin")
@with_appcontext
def create_admin_command() -> None:
    """Create the admin account (VIGIL_ADMIN_USER / VIGIL_ADMIN_PASSWORD)."""
    user, generated = ensure_admin()
    if generated:
        click.echo(f"created admin account {user.username!r} with password: {generated}")
        click.echo("(shown once; set VIGIL_ADMIN_PASSWORD to choose it)")
    elif user.created:
        click.echo(f"created admin account {user.username!r} with the password in VIGIL_ADMIN_PASSWORD")
    else:
        click.echo(f"admin account {user.username!r} exists; left unchanged")


@vigil.command("sign-out")
@click.argument("username")
@with_appcontext
def sign_out_command(username: str) -> None:
    """End every browser session of USERNAME (an administrator's "sign out everywhere")."""
    from app import login_sessions

    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user named {username!r}")
    count = login_sessions.end_all(user.id)
    click.echo(f"signed out {count} session{'s' if count != 1 else ''} of {username!r}")


@vigil.group("token")
def token_group() -> None:
    """API tokens for /api/v1 writes (shown once when created)."""


@token_group.command("create")
@click.argument("username")
@click.option("--name", default="token", show_default=True, help="What the token is for.")
@with_appcontext
def token_create_command(username: str, name: str) -> None:
    """Issue a token that acts as USERNAME and print it once."""
    from app import api_tokens

    try:
        row, token = api_tokens.issue(username=username, name=name)
    except api_tokens.UnknownUser:
        raise click.ClickException(f"no user named {username!r}") from None
    click.echo(f"created API token {row.id} ({row.name!r}) for {username!r}; it is shown once:")
    click.echo(token)


@token_group.command("list")
@with_appcontext
def token_list_command() -> None:
    """Every token: id, user, name, first characters, created, last used."""
    from app import api_tokens

    for row in api_tokens.list_tokens():
        used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
        click.echo(f"{row.id}\t{row.user.username}\t{row.name}\t{row.prefix}…\t"
                   f"{row.created_at.isoformat(timespec='seconds')}\t{used}")


@token_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke_command(token_id: int) -> None:
    """Delete token TOKEN_ID; requests that present it get 401 from then on."""
    from app import api_tokens

    if not api_tokens.revoke(token_id):
        raise click.ClickException(f"no API token with id {token_id}")
    click.echo(f"revoked API token {token_id}")
