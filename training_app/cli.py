"""flask commands: seed-demo, create-user, reset-password, send-mail, purge-expired, certificates issue, surveys
release, funding export."""
import click
from flask import current_app

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

    if current_app.config.get("SESSION_COOKIE_SECURE") and not force:
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
    click.echo(f"{handed} courriel(s) en attente repris ; "
               f"{'tous traités' if finished else 'certains restent en attente'} ; "
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
    verb = "seraient" if dry_run else "sont"
    click.echo(f"{len(plan.request_ids)} demande(s) d'inscription de la page publique dont le lien de confirmation "
               f"a expiré (confirmées ou non) {verb} supprimée(s).")
    click.echo(f"{len(plan.mail_ids)} courriel(s) envoyé(s), classé(s) ou conservé(s) depuis plus de "
               f"{config['MAIL_KEEP_DAYS']} jours {verb} supprimé(s).")
    click.echo(f"{len(plan.trainees)} stagiaire(s) dont la dernière session s'est terminée (ou, sans inscription, "
               f"la fiche a été créée) il y a plus de {config['RECORD_RETENTION_YEARS']} ans {verb} effacé(e)s :")
    for trainee in plan.trainees:
        click.echo(f"  n° {trainee.id} {trainee.full_name}")
    click.echo(f"{len(plan.expired)} stagiaire(s) dont les pièces conservées (émargement, attestations, financements) "
               f"ont passé leur durée de conservation ({config['RECORD_RETENTION_YEARS']} ans après la dernière "
               f"session, ou le dernier paiement de leur financement) : ces pièces {verb} rendues anonymes et leurs "
               f"fichiers supprimés :")
    for trainee in plan.expired:
        click.echo(f"  n° {trainee.id} {trainee.full_name}")
    click.echo(f"{len(enrolment_import.stale_stashes())} fichier(s) d'import de participant·es prévisualisé(s) il y a "
               f"plus d'un jour, jamais confirmé(s), {verb} supprimé(s).")
    click.echo(f"{users.sign_ins_over()} connexion(s) de l'équipe terminée(s) (ouvertes il y a "
               f"{config['SIGN_IN_LIFETIME'].days} jours ou plus) {verb} supprimée(s).")
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
    click.echo(f"Fait : {len(plan.mail_ids)} courriel(s) supprimé(s), {len(done.erasures)} stagiaire(s) effacé(e)s "
               f"(dont {deleted} supprimé(e)s entièrement, sans document à conserver), {len(done.expiries)} dont "
               f"les pièces conservées sont rendues anonymes.")
    click.echo(f"{len(plan.request_ids)} demande(s) d'inscription expirée(s) supprimée(s).")
    click.echo(f"{sign_ins} connexion(s) terminée(s) supprimée(s).")


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
    click.echo(f"{len(report.issued)} document(s) émis pour « {session.title} » ({session.start_at:%d/%m/%Y}).")
    for doc in report.issued:
        click.echo(f"  {doc.number}  {doc.trainee_name:<30}  {storage.absolute(doc.storage_path)}")
    if report.already_issued:
        click.echo(f"{report.already_issued} stagiaire(s) avaient déjà leurs documents (--reissue pour réémettre).")
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
    click.echo(f"{released} réponse(s) anonyme(s) publiée(s), {len(closed)} questionnaire(s) clos.")
