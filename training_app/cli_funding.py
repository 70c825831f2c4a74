"""flask funding ...: the funding claims' files from the command line."""
import click

from training_app.extensions import db


@click.group("funding")
def funding() -> None:
    """Funding claims (demandes de paiement aux OPCO)."""


@funding.command("export")
@click.argument("claim_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The .xlsx file to write.")
def export(claim_id: int, out: str) -> None:
    """Write the Excel workbook of claim CLAIM_ID to FILE.xlsx (a draft's with today's figures)."""
    from training_app.models import FundingClaim
    from training_app.services import funding as funding_service

    claim = db.session.get(FundingClaim, claim_id)
    if claim is None:
        raise click.ClickException(f"Aucune demande de paiement n° {claim_id}.")
    content = funding_service.workbook_bytes(claim)
    db.session.commit()  # a draft's figures brought up to date
    with open(out, "wb") as handle:
        handle.write(content)
    click.echo(f"Demande {claim.number} ({claim.funder.name}) : classeur écrit dans {out}.")
