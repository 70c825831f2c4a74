"""flask funding ...: the funding claims' files from the command line."""
import errno
import os
import tempfile

import click

from training_app.extensions import db

WRITE_ERRORS = {  # why a file cannot be written, in French (the system's message is in English)
    errno.ENOENT: "le dossier n'existe pas",
    errno.ENOTDIR: "le chemin ne mène pas à un dossier",
    errno.EACCES: "droits d'écriture insuffisants",
    errno.EPERM: "droits d'écriture insuffisants",
    errno.EROFS: "le disque est en lecture seule",
    errno.ENOSPC: "le disque est plein",
    errno.EISDIR: "c'est un dossier, indiquez un nom de fichier",
    errno.ENAMETOOLONG: "le nom est trop long",
}


@click.group("funding")
def funding() -> None:
    """Funding claims (demandes de paiement aux OPCO)."""


@funding.command("export")
@click.argument("claim_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(), help="The .xlsx file to write.")
def export(claim_id: int, out: str) -> None:
    """Write the Excel workbook of claim CLAIM_ID to FILE.xlsx (a draft's with today's figures)."""
    from training_app.models import FundingClaim
    from training_app.services import funding as funding_service

    claim = db.session.get(FundingClaim, claim_id)
    if claim is None:
        raise click.ClickException(f"Aucune demande de paiement n° {claim_id}.")
    content = funding_service.workbook_bytes(claim)
    db.session.commit()  # a draft's figures brought up to date
    try:
        write_whole(out, content)
    except OSError as error:
        reason = WRITE_ERRORS.get(error.errno, "erreur du système de fichiers")
        raise click.ClickException(f"Impossible d'écrire le classeur dans {out} : {reason}. "
                                   "Aucun fichier n'a été écrit.") from None
    click.echo(f"Demande {claim.number} ({claim.funder.name}) : classeur écrit dans {out}.")


def write_whole(path: str, content: bytes) -> None:
    """Write `content` to `path` whole or not at all: a temporary file in the same folder, renamed over `path`
    once written (an OSError leaves neither it nor a half-written `path`)."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        umask = os.umask(0)  # the permissions a plain open() gives (mkstemp's are the owner's only)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
