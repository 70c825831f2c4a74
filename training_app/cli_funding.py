"""flask funding ...: the funding claims' files from the command line."""
import errno
import os
import stat
import tempfile

import click

from training_app.extensions import db
from training_app.urls import is_id

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

    claim = db.session.get(FundingClaim, claim_id) if is_id(claim_id) else None
    if claim is None:
        raise click.ClickException(f"Aucune demande de paiement n° {claim_id}.")
    content = funding_service.workbook_bytes(claim)
    db.session.commit()  # a draft's figures brought up to date
    try:
        write_whole(out, content)
    except OSError as error:
        reason = error.reason if isinstance(error, Refused) else WRITE_ERRORS.get(error.errno,
                                                                                  "erreur du système de fichiers")
        raise click.ClickException(f"Impossible d'écrire le classeur dans {out} : {reason}. "
                                   "Aucun fichier n'a été écrit.") from None
    click.echo(f"Demande {claim.reference} ({claim.funder.name}) : classeur écrit dans {out}.")


class Refused(OSError):
    """A path write_whole will not write over (not a regular file, or read-only), with the reason in French."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _keep_owner(path: str, existing: os.stat_result) -> None:
    """The replacement keeps the existing file's owner and group when the exporter may give them: another user's
    file becomes the exporter's, but in the file's group when the exporter belongs to it (a shared office folder
    stays writable by the colleagues of that group)."""
    for uid in (existing.st_uid, -1):
        try:
            os.chown(path, uid, existing.st_gid)
            return
        except OSError:
            continue


def write_whole(path: str, content: bytes) -> None:
    """Write `content` to `path` whole or not at all: a temporary file in the same folder, renamed over the
    file once written (an OSError leaves neither it nor a half-written file).

    Only a regular file is ever replaced, and only one that may be written: it keeps its permissions (and its
    owner, when we may set it). A symbolic link is followed: its target is written, the link stays. Anything
    else there (a folder, a device, a named pipe, a socket) or a read-only file is refused (Refused), never
    replaced."""
    target = os.path.realpath(path)  # a symbolic link (or a folder of the path that is one) followed
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None:
        if stat.S_ISDIR(existing.st_mode):
            raise OSError(errno.EISDIR, "Is a directory", path)
        if not stat.S_ISREG(existing.st_mode):
            raise Refused("ce n'est pas un fichier ordinaire (périphérique, tube…), il ne sera pas remplacé")
        if not existing.st_mode & 0o222 or not os.access(target, os.W_OK):  # 0o444 even for root
            raise Refused("le fichier existant est en lecture seule, il n'a pas été modifié")
    folder = os.path.dirname(target)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        if existing is None:
            umask = os.umask(0)  # the permissions a plain open() gives (mkstemp's are the owner's only)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        else:
            os.chmod(temporary, stat.S_IMODE(existing.st_mode))
            _keep_owner(temporary, existing)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
