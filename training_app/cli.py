"""flask commands: seed-demo, create-user, funding export."""
import click
from flask import current_app

from training_app.extensions import db
from training_app.services import ServiceError


def register(app) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
    from training_app.cli_funding import funding
    app.cli.add_command(funding)


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Allow it in production (never do this on real data).")
def seed_demo(force: bool) -> None:
    """Load the reference course and its demo accounts (idempotent)."""
    from training_app import demo

    if current_app.config.get("SESSION_COOKIE_SECURE") and not force:
        raise click.ClickException("seed-demo refuses to run with the production configuration.")
    demo.seed()
    click.echo("Données de démonstration prêtes. Comptes de démonstration :")
    for email, name, role, password in demo.ACCOUNTS:
        click.echo(f"  {role:<8} {email:<34} mot de passe : {password}   ({name})")


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "trainer"]), required=True)
@click.option("--name", required=True)
@click.password_option(prompt="Mot de passe", confirmation_prompt="Confirmez le mot de passe")
def create_user(email: str, role: str, name: str, password: str) -> None:
    """Create a staff account; asks for the password."""
    from training_app.services import users

    try:
        user = users.create_user(email, name, role, password)
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"Compte créé : {user.email} ({user.role}).")
