"""flask commands: seed-demo, create-user, reset-password, send-mail, purge-expired, certificates issue, surveys
release, funding export."""
import click
from flask import current_app
from flask_babel import ngettext

from training_app.extensions import db
from training_app.services import ServiceError
from training_app.urls import is_id


def register(app) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
    app.cli.add_command(reset_password)
    app.cli.add_command(send_mail)
    app.cli.add_command(purge_expired)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(surveys_cli)
    from training_app.cli_funding import funding
    app.cli.add_command(funding)
    from training_app.cli_reports import annual_report
    app.cli.add_command(annual_report)


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Allow it in production (never do this on real data).")
def seed_demo(force: bool) -> None:
    """Load the reference course and its demo accounts (idempotent)."""
    from training_app import demo
    from training_app.formatting import label

    if current_app.config["PRODUCTION"] and not force:
        raise click.ClickException("seed-demo refuses to run with the production configuration.")
    demo.seed()
    click.echo("Données de démonstration prêtes. Comptes de démonstration :")
    for email, name, role, password in demo.ACCOUNTS:
        click.echo(f"  {label(role):<20} {email:<34} mot de passe : {password}   ({name})")
    name, link = demo.trainee_link()
    click.echo(f"  {'Stagiaire':<20} {name}, sans mot de passe : son lien personnel (session passée, "
               f"attestations ; session à venir, convocation)\n  {link}")


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "trainer"]), required=True)
@click.option("--name", required=True)
@click.option("--temporary", is_flag=True, help="The password is temporary: to be changed at the first sign-in.")
@click.password_option(prompt="Mot de passe", confirmation_prompt="Confirmez le mot de passe")
def create_user(email: str, role: str, name: str, temporary: bool, password: str) -> None:
    """Create a staff account; asks for the password."""
    from training_app.services import users

    try:
        user = users.create_user(email, name, role, password, temporary=temporary)
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"Compte créé : {user.email} ({user.role}).")


@click.command("send-mail")
@click.option("--wait", "wait_seconds", type=float, default=120.0, show_default=True,
              help="How long to wait for the SMTP server before leaving what is not sent for the next run.")
def send_mail(wait_seconds: float) -> None:
    """Send the e-mail left pending (the SMTP server was away, a process stopped first); e.g. from cron. Each
    serving process also does it every MAIL_RETRY_MINUTES."""
    from training_app.services import mail

    app = current_app._get_current_object()
    if not app.config.get("MAIL_SERVER"):
        raise click.ClickException("Aucun serveur SMTP n'est configuré (MAIL_SERVER) : rien n'est envoyé.")
    handed = mail.send_pending(app)
    finished = mail.smtp_sender(app).close(wait_seconds)
    attention = mail.count_needing_attention()
    click.echo(ngettext("%(num)d courriel en attente repris", "%(num)d courriels en attente repris", handed)
               + f" ; {'tous traités' if finished else 'certains restent en attente'} ; "
               f"{attention} à regarder (en échec, ou en attente depuis plus de 30 minutes).")


@click.command("purge-expired")
@click.option("--dry-run", is_flag=True, help="Print what would be deleted or erased, change nothing.")
def purge_expired(dry_run: bool) -> None:
    """Delete the requests of the public registration page whose confirmation link expired (confirmed or not),
    the e-mails sent, filed or captured more than MAIL_KEEP_DAYS ago, erase the personal data of the
    trainees whose last session ended (or who were created, without any enrolment) more than
    RECORD_RETENTION_YEARS ago, and make anonymous the kept records (attendance, certificates, funding) of those
    whose retention period is over: RECORD_RETENTION_YEARS after their last session, or after the last payment
    of their funding when later (e.g. from cron, monthly). The staff's sign-ins that are over (SIGN_IN_LIFETIME)
    are deleted too."""
    from training_app.services import enrolment_import, personal_data, users

    plan = personal_data.purge_plan()
    config = current_app.config
    years = config["RECORD_RETENTION_YEARS"]

    def verb(count: int) -> str:
        return ngettext("serait", "seraient", count) if dry_run else ngettext("est", "sont", count)

    def days(count: int) -> str:
        return ngettext("%(num)d jour", "%(num)d jours", count)

    count = len(plan.request_ids)
    click.echo(ngettext("%(num)d demande d'inscription de la page publique dont le lien de confirmation a expiré "
                        "(confirmée ou non) %(verb)s supprimée.",
                        "%(num)d demandes d'inscription de la page publique dont le lien de confirmation a expiré "
                        "(confirmées ou non) %(verb)s supprimées.", count, verb=verb(count)))
    count = len(plan.mail_ids)
    click.echo(ngettext("%(num)d courriel envoyé, classé ou conservé depuis plus de %(days)s %(verb)s supprimé.",
                        "%(num)d courriels envoyés, classés ou conservés depuis plus de %(days)s %(verb)s supprimés.",
                        count, days=days(config["MAIL_KEEP_DAYS"]), verb=verb(count)))
    count = len(plan.trainees)
    click.echo(ngettext("%(num)d stagiaire dont la dernière session s'est terminée (ou, sans inscription, la fiche a "
                        "été créée) il y a plus de %(years)d ans %(verb)s effacé·e :",
                        "%(num)d stagiaires dont la dernière session s'est terminée (ou, sans inscription, la fiche "
                        "a été créée) il y a plus de %(years)d ans %(verb)s effacé·es :", count,
                        years=years, verb=verb(count)))
    for trainee in plan.trainees:
        click.echo(f"  n° {trainee.id} {trainee.full_name}")
    click.echo(ngettext("%(num)d stagiaire", "%(num)d stagiaires", len(plan.expired))
               + " dont les pièces conservées (émargement, attestations, financements) ont passé leur durée de "
               f"conservation ({years} ans après la dernière session, ou le dernier paiement de leur financement) : "
               f"ces pièces {'seraient' if dry_run else 'sont'} rendues anonymes et leurs fichiers supprimés :")
    for trainee in plan.expired:
        click.echo(f"  n° {trainee.id} {trainee.full_name}")
    count = len(enrolment_import.stale_stashes())
    click.echo(ngettext("%(num)d fichier d'import de participant·es prévisualisé il y a plus d'un jour, jamais "
                        "confirmé, %(verb)s supprimé.",
                        "%(num)d fichiers d'import de participant·es prévisualisés il y a plus d'un jour, jamais "
                        "confirmés, %(verb)s supprimés.", count, verb=verb(count)))
    count = users.sign_ins_over()
    click.echo(ngettext("%(num)d connexion de l'équipe terminée (ouverte il y a %(days)s ou plus) %(verb)s "
                        "supprimée.",
                        "%(num)d connexions de l'équipe terminées (ouvertes il y a %(days)s ou plus) %(verb)s "
                        "supprimées.", count, days=days(config["SIGN_IN_LIFETIME"].days), verb=verb(count)))
    if dry_run:
        db.session.rollback()
        click.echo("Essai (--dry-run) : rien n'a été modifié.")
        return
    try:
        done = personal_data.purge(plan)
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    sign_ins = users.delete_sign_ins_over()
    db.session.commit()
    enrolment_import.purge_stale_stashes()
    deleted = sum(1 for e in done.erasures if e.deleted)
    click.echo("Fait : " + ngettext("%(num)d courriel supprimé", "%(num)d courriels supprimés", len(plan.mail_ids))
               + ", " + ngettext("%(num)d stagiaire effacé·e", "%(num)d stagiaires effacé·es", len(done.erasures))
               + " (" + ngettext("dont %(num)d supprimé·e entièrement", "dont %(num)d supprimé·es entièrement",
                                 deleted)
               + f", sans document à conserver), {len(done.expiries)} dont les pièces conservées sont rendues "
               "anonymes.")
    click.echo(ngettext("%(num)d demande d'inscription expirée supprimée.",
                        "%(num)d demandes d'inscription expirées supprimées.", len(plan.request_ids)))
    click.echo(ngettext("%(num)d connexion terminée supprimée.", "%(num)d connexions terminées supprimées.",
                        sign_ins))


@click.command("reset-password")
@click.argument("email")
@click.option("--generate", is_flag=True, help="Make up the temporary password and print it instead of asking.")
def reset_password(email: str, generate: bool) -> None:
    """Give an account a temporary password, to be changed at its next sign-in (e.g. for the last
    administrator, who has nobody to do it on the web); signs out its browsers."""
    from training_app.services import users

    user = users.find_by_email(email)
    if user is None:
        raise click.ClickException(f"Aucun compte avec l'adresse {email.strip()}.")
    if generate:
        password = users.generate_password()
    else:
        password = click.prompt("Mot de passe provisoire", hide_input=True,
                                confirmation_prompt="Confirmez le mot de passe")
    try:
        users.reset_password(user, password, actor_label="ligne de commande")
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"Mot de passe provisoire enregistré pour {user.email} ({user.name}), "
               f"à changer à la prochaine connexion.")
    if generate:
        click.echo(f"Mot de passe provisoire : {password}")
    if not user.active:
        click.echo("Attention : ce compte est désactivé ; un·e administrateur·rice doit le réactiver.")


@click.group("certificates")
def certificates_cli() -> None:
    """Attestations de fin de formation and certificats de réalisation."""


@certificates_cli.command("issue")
@click.argument("session_id", type=int)
@click.option("--reissue", is_flag=True, help="Issue new versions of the documents already issued too.")
@click.option("--allow-unrecorded", is_flag=True,
              help="Issue even to trainees with objectives whose outcome was never recorded (printed « Non évalué »).")
def certificates_issue(session_id: int, reissue: bool, allow_unrecorded: bool) -> None:
    """Issue the certificates of every trainee of a session who attended; print where they are."""
    from training_app.documents import storage
    from training_app.models import TrainingSession
    from training_app.services import certificates

    session = db.session.get(TrainingSession, session_id) if is_id(session_id) else None
    if session is None:
        raise click.ClickException(f"Aucune session n°{session_id}.")
    try:
        report = certificates.issue_for_session(session, reissue=reissue, unrecorded_confirmed=allow_unrecorded)
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(ngettext("%(num)d document émis pour « %(title)s » (%(date)s).",
                        "%(num)d documents émis pour « %(title)s » (%(date)s).", len(report.issued),
                        title=session.title, date=f"{session.start_at:%d/%m/%Y}"))
    for doc in report.issued:
        click.echo(f"  {doc.number}  {doc.trainee_name:<30}  {storage.absolute(doc.storage_path)}")
    if report.already_issued:
        click.echo(ngettext("%(num)d stagiaire avait déjà ses documents (--reissue pour réémettre).",
                            "%(num)d stagiaires avaient déjà leurs documents (--reissue pour réémettre).",
                            report.already_issued))
    for message in certificates.kept_outdated_messages(report.outdated):
        click.echo(f"{message.rstrip('.')} (--reissue).")
    for enrolment in report.without_attendance:
        click.echo(f"Sans présence, pas de document : {enrolment.trainee.full_name}")
    if report.withdrawn:
        click.echo("Documents retirés (plus aucune présence après correction des feuilles) : n° "
                   + ", ".join(doc.number for doc in report.withdrawn))
    if report.records_expired:
        click.echo(certificates.records_expired_refusal(len(report.records_expired)))


@click.group("surveys")
def surveys_cli() -> None:
    """Questionnaires."""


@surveys_cli.command("release")
def surveys_release() -> None:
    """Release the anonymous answers of every closed questionnaire, shuffled, in one transaction (nightly)."""
    from training_app.services import surveys

    closed = surveys.closed_with_pending()
    released = surveys.release_closed(closed)
    db.session.commit()
    click.echo(ngettext("%(num)d réponse anonyme publiée", "%(num)d réponses anonymes publiées", released) + ", "
               + ngettext("%(num)d questionnaire clos.", "%(num)d questionnaires clos.", len(closed)))
