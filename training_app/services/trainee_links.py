"""Trainees' personal links: signed, expiring, scoped to one trainee.

The token carries the trainee's id and their `link_version`, and its own expiry. Asking
for a new link (anybody may, knowing the address) sends a fresh token and revokes
nothing; only an administrator revokes every link issued before (`revoke_links`, which
bumps the version). A view for trainees is decorated with
`trainee_view`, which resolves the token of the URL into `g.trainee` or shows a
clear page (no data) with a way to get a new link, and asks that none of its answers be kept
(`Cache-Control: private, no-store`): phones are shared in the room.
"""
from datetime import datetime, timezone
from functools import wraps

from flask import after_this_request, current_app, g, render_template
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from training_app.access import TRAINEE, access
from training_app.extensions import db
from training_app.models import Trainee, User
from training_app.urls import public_url

SALT = "trainee-personal-link"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(trainee: Trainee) -> str:
    data = {"t": trainee.id, "v": trainee.link_version}
    if trainee.created_at is not None:
        data["c"] = _created(trainee)
    return _serializer().dumps(data)


def _created(trainee: Trainee) -> str:
    """When the trainee was created: a link names this person, not whoever gets their id once they were
    deleted (services/personal_data; SQLite gives the highest id again once its row is gone)."""
    return trainee.created_at.isoformat()


def personal_url(trainee: Trainee, endpoint: str = "trainee.home", **values) -> str:
    """Absolute URL of a trainee page, usable in e-mails and QR codes."""
    return public_url(endpoint, token=make_token(trainee), **values)


class LinkError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        # "expired"; "invalid" (incomplete or altered); "revoked" (by an administrator, or a new e-mail address);
        # "unknown" (well signed, but its trainee is not in the database); "erased" (their personal data was
        # erased, services/personal_data.py: no new link can be sent)
        self.reason = reason


def trainee_from_token(token: str) -> Trainee:
    max_age = current_app.config["TRAINEE_LINK_MAX_AGE_DAYS"] * 86400
    try:
        data, signed_at = _serializer().loads(token, max_age=max_age, return_timestamp=True)
    except SignatureExpired:
        raise LinkError("expired") from None
    except BadSignature:
        raise LinkError("invalid") from None
    if not isinstance(data, dict):
        raise LinkError("invalid")
    trainee = db.session.get(Trainee, data.get("t")) if isinstance(data.get("t"), int) else None
    if trainee is None or ("c" in data and trainee.created_at is not None and data["c"] != _created(trainee)):
        raise LinkError("unknown")
    if "c" not in data and _signed_before_created(signed_at, trainee):
        raise LinkError("unknown")  # a link issued before "c" existed, to someone deleted whose id was given again
    if trainee.erased_at is not None:
        raise LinkError("erased")
    if trainee.link_version != data.get("v"):
        raise LinkError("revoked")
    return trainee


def _signed_before_created(signed_at: datetime, trainee: Trainee) -> bool:
    """Whether a token was signed before its trainee existed (to the second: the token's time has no more)."""
    if trainee.created_at is None:
        return False
    return signed_at.astimezone(timezone.utc).replace(tzinfo=None) < trainee.created_at.replace(microsecond=0)


def per_trainee(name: str, trainee_id: int, load):
    """`load(trainee_id)`, run once per request: each feature's part of a trainee's page is included once per
    enrolment (trainee/home.html) and reads what it shows of every enrolment of the trainee at once, so that the
    page runs as many statements for one enrolment as for twenty."""
    cache = g.setdefault("_per_trainee", {})
    if (name, trainee_id) not in cache:
        cache[name, trainee_id] = load(trainee_id)
    return cache[name, trainee_id]


def trainee_view(view):
    """Declare a view as reached through a personal link: `<token>` in its URL."""
    @wraps(view)
    def wrapper(token, *args, **kwargs):
        after_this_request(_not_kept)  # every answer: pages, downloads, redirects, and the errors (abort) too
        try:
            g.trainee = trainee_from_token(token)
        except LinkError as error:
            return render_template("trainee_link_invalid.html", reason=error.reason), 403
        g.trainee_token = token
        return view(*args, **kwargs)
    return access(TRAINEE)(wrapper)


def _not_kept(response):
    """A trainee's pages and documents are personal and phones are shared: no browser or proxy keeps a copy."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


def send_new_link(email: str) -> None:
    """E-mail a fresh personal link to the trainee with this address, if there is one.

    Nothing is revoked: the links sent earlier keep working until they expire, so that
    someone who only knows the address cannot cut a trainee off in the middle of a session.
    The caller answers the same way whether or not the address is known, so nobody learns
    who is enrolled.
    """
    from training_app.services.registrations import email_to_look_up  # registrations imports this module

    trainee = db.session.scalar(db.select(Trainee).where(Trainee.email == email_to_look_up(email)))
    if trainee is None:
        return
    _mail_link(trainee, _("Voici votre lien personnel, pour signer vos présences, répondre aux questionnaires et "
                          "télécharger vos attestations :"), _("Ce lien est personnel : ne le partagez pas."))


def revoke_links(trainee: Trainee, *, actor: User, reason: str = "", enrolment_id: int | None = None,
                 intro: str = "") -> None:
    """An administrator revokes every personal link of the trainee (a link shared or forwarded, a phone
    lost, a new e-mail address); a new link is e-mailed to the trainee's address, `intro` first (the reason
    it is sent) when given. Audited on the trainee."""
    from training_app.services import audit

    trainee = db.session.scalar(db.select(Trainee).where(Trainee.id == trainee.id).with_for_update()
                                .execution_options(populate_existing=True))
    previous = trainee.link_version
    trainee.link_version = previous + 1
    audit.record(trainee, "links_revoked", actor=actor, reason=reason,
                 details={"link_version": [previous, trainee.link_version], "enrolment_id": enrolment_id})
    _mail_link(trainee, intro or _("Vos liens personnels précédents ont été désactivés par l'équipe de formation. "
                                   "Voici votre nouveau lien, pour signer vos présences, répondre aux "
                                   "questionnaires et télécharger vos attestations :"),
               _("Les liens envoyés précédemment ne fonctionnent plus."))


def _mail_link(trainee: Trainee, intro: str, outro: str) -> None:
    from training_app.services import mail

    mail.queue(trainee.email, _("Votre lien personnel"),
               "\n\n".join([_("Bonjour %(name)s,", name=trainee.full_name), intro, personal_url(trainee),
                             outro]) + "\n",
               tag=f"trainee_link:{trainee.id}")
