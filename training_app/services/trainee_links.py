"""Trainees' personal links: signed, expiring, scoped to one trainee.

The token carries the trainee's id and their `link_version`; bumping the version
revokes every link issued before. A view for trainees is decorated with
`trainee_view`, which resolves the token of the URL into `g.trainee` or shows a
clear page (no data) with a way to get a new link.
"""
from functools import wraps

from flask import current_app, g, render_template
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from training_app.access import TRAINEE, access
from training_app.extensions import db
from training_app.models import Trainee
from training_app.urls import public_url

SALT = "trainee-personal-link"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(trainee: Trainee) -> str:
    return _serializer().dumps({"t": trainee.id, "v": trainee.link_version})


def personal_url(trainee: Trainee, endpoint: str = "trainee.home", **values) -> str:
    """Absolute URL of a trainee page, usable in e-mails and QR codes."""
    return public_url(endpoint, token=make_token(trainee), **values)


class LinkError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "expired" or "invalid"


def trainee_from_token(token: str) -> Trainee:
    max_age = current_app.config["TRAINEE_LINK_MAX_AGE_DAYS"] * 86400
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkError("expired") from None
    except BadSignature:
        raise LinkError("invalid") from None
    trainee = db.session.get(Trainee, data.get("t")) if isinstance(data, dict) else None
    if trainee is None or trainee.link_version != data.get("v"):
        raise LinkError("invalid")
    return trainee


def trainee_view(view):
    """Declare a view as reached through a personal link: `<token>` in its URL."""
    @wraps(view)
    def wrapper(token, *args, **kwargs):
        try:
            g.trainee = trainee_from_token(token)
        except LinkError as error:
            return render_template("trainee_link_invalid.html", reason=error.reason), 403
        g.trainee_token = token
        return view(*args, **kwargs)
    return access(TRAINEE)(wrapper)


def send_new_link(email: str) -> None:
    """E-mail a fresh personal link to the trainee with this address, if there is one.

    Earlier links stop working (the link version is bumped). The caller answers the
    same way whether or not the address is known, so nobody learns who is enrolled.
    """
    from training_app.services import mail

    trainee = db.session.scalar(db.select(Trainee).where(Trainee.email == email.strip().lower()))
    if trainee is None:
        return
    trainee.link_version += 1
    db.session.flush()
    mail.queue(trainee.email, "Votre lien personnel",
               f"Bonjour {trainee.full_name},\n\nVoici votre nouveau lien personnel, pour signer vos "
               f"présences, répondre aux questionnaires et télécharger vos attestations :\n\n"
               f"{personal_url(trainee)}\n\nLes liens envoyés précédemment ne fonctionnent plus.\n",
               tag=f"trainee_link:{trainee.id}")
