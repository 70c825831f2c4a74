"""training_app: funded training courses end to end."""
import logging
import os
import re
import time

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from training_app.config import CONFIGS, ProductionConfig, check_settings, instance_secret_key
from training_app.extensions import babel, csrf, db, limiter, login_manager, migrate
from training_app.form_input import CleanFormRequest, install_form_data
from training_app.formatting import wait_fr


# Paths whose last part is a secret besides those of the e-mails (mail.mask_links): the room's QR code, which lets
# a phone sign, and a certificate's verification code, which shows a trainee's name.
_SECRET_PATHS = re.compile(r"(/emargement/salle/|/verifier/)[^/]+")


class TrainingApp(Flask):
    def log_exception(self, exc_info) -> None:
        """As Flask logs an unexpected error, the path's secret hidden: a trainee's personal link, a registration's
        confirmation link, a password link (mail.mask_links), a room's QR code or a verification code carries it
        in its path, and logs are read and kept by others than the person it belongs to."""
        from training_app.services.mail import mask_links
        path = _SECRET_PATHS.sub(lambda found: found.group(1) + "[masqué]", mask_links(request.path))
        self.logger.error("Exception on %s [%s]", path, request.method, exc_info=exc_info)


def create_app(config=None, overrides: dict | None = None) -> Flask:
    """Build the application.

    `config` is a config class or its name ("development", "testing", "production"; default:
    $TRAINING_APP_CONFIG or development); `overrides` are settings applied on top.
    """
    app = TrainingApp(__name__, instance_relative_config=False,
                      instance_path=os.environ.get("INSTANCE_PATH") or os.path.join(os.getcwd(), "instance"))
    app.request_class = CleanFormRequest  # form values without invisible characters (form_input.py)
    install_form_data()  # forms read files in their file fields only (form_input.py)
    overrides = overrides or {}
    if config is None:
        config = os.environ.get("TRAINING_APP_CONFIG", "development")
    if isinstance(config, str):
        config = CONFIGS[config]
    app.config.from_object(config)
    app.config.update(overrides)
    if config is ProductionConfig or (isinstance(config, type) and issubclass(config, ProductionConfig)):
        config.check(app.config)
    check_settings(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///training_app.db":
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "training_app.db")
    if not app.config.get("STORAGE_DIR"):
        app.config["STORAGE_DIR"] = os.path.join(app.instance_path, "storage")
    os.makedirs(app.config["STORAGE_DIR"], exist_ok=True)

    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops > 0:
        # Behind the reverse proxy, the client's address (signature evidence, rate limits) and the
        # scheme come from the proxy's headers, trusted for that many hops only.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    _init_extensions(app)
    _register_blueprints(app)
    _register_error_pages(app)
    _register_template_helpers(app)
    app.after_request(_security_headers)

    from training_app import cli, page_cache, query_counter
    cli.register(app)
    page_cache.init_app(app)
    query_counter.init_app(app)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)
    return app


def _init_extensions(app: Flask) -> None:
    from training_app import models  # noqa: F401  (registers every table)
    from training_app.access import enforce_access
    from training_app.documents import storage
    from training_app.services import mail

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"),
                     render_as_batch=True, compare_type=True)
    # Access is checked before CSRF, so an anonymous POST is sent to sign in, not told "expired form".
    app.before_request(enforce_access)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=lambda: app.config["BABEL_DEFAULT_LOCALE"])
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _("Connectez-vous pour accéder à cette page.")
    login_manager.login_message_category = "warning"
    mail.init_app(app)
    storage.init_app(app)

    @login_manager.user_loader
    def load_user(sign_in_id: str):
        from training_app.services.users import signed_in_user
        return signed_in_user(sign_in_id)



def _register_blueprints(app: Flask) -> None:
    from training_app.access import PUBLIC, access
    from training_app.blueprints import BLUEPRINTS
    from training_app.urls import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any rule uses it
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    access(PUBLIC)(app.view_functions["static"])


def _register_error_pages(app: Flask) -> None:
    messages = {
        400: _("La demande n'a pas pu être traitée."),
        403: _("Vous n'avez pas accès à cette page."),
        404: _("Cette page n'existe pas."),
        405: _("Cette action n'est pas possible ici."),
        413: _("Le fichier envoyé est trop volumineux."),
        416: _("Cette partie du fichier n'existe pas : téléchargez-le en entier."),  # a download resumed too far
        500: _("Une erreur inattendue s'est produite. Rien n'a été enregistré ; réessayez ou prévenez l'équipe."),
    }

    def render_error(code, message, back_url=None):
        return render_template("error.html", code=code, message=message, back_url=back_url), code

    for code, message in messages.items():
        app.register_error_handler(code, lambda e, code=code, message=message: render_error(code, message))

    @app.errorhandler(405)
    def not_here(e):
        # An action's address opened as a page (a link copied, the address typed): the page it belongs to is
        # usually the address without its last part (…/demandes/2/envoyer → …/demandes/2), offered when it is one.
        above = _page_above(request.path)
        return render_error(405, messages[405], request.script_root + above if above else None)

    @app.errorhandler(429)
    def too_many_requests(e):
        # The limit that was reached says when it lets requests through again: in a minute, an hour or a day.
        reached = limiter.current_limit
        if reached is None or not reached.breached:
            return render_error(429, _("Trop de demandes en peu de temps : réessayez plus tard."))
        wait = min(reached.reset_at - time.time(), reached.limit.get_expiry())  # reset_at is a second late
        return render_error(429, _("Trop de demandes en peu de temps : réessayez dans %(wait)s.",
                                   wait=wait_fr(wait)))

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return render_error(400, _("Le formulaire a expiré ou n'est pas valide : rechargez la page et recommencez."))

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def out_of_range(e):
        # A value the database cannot take (a huge number in a query parameter, say): the request's
        # transaction is over, nothing of it is kept; the visitor is told, never shown a 500.
        db.session.rollback()
        current_app.logger.info("value refused by the database: %s", e)
        return render_error(400, _("La demande contient une valeur impossible (un nombre trop grand, par "
                                   "exemple) : vérifiez l'adresse ou le formulaire. Rien n'a été enregistré."))

    @app.errorhandler(StaleDataError)
    def saved_meanwhile(e):
        # A write to a record whose edit form was saved by someone else since this request read it (the
        # version_id_col check of models/edit_version.py), outside the edit forms, which say it themselves:
        # nothing of the request is kept, the user is told, never shown a 500.
        db.session.rollback()
        return render_error(409, _("Cette fiche vient d'être modifiée par quelqu'un d'autre : rien n'a été "
                                   "enregistré. Rechargez la page et recommencez."))

    @app.errorhandler(500)
    def server_error(e):
        db.session.rollback()
        return render_error(500, messages[500])


def _page_above(path: str) -> str | None:
    """`path` without its last part, when that is a page (a GET route); None otherwise."""
    parent = path.rstrip("/").rsplit("/", 1)[0]
    if not parent:
        return None
    try:
        current_app.url_map.bind("").match(parent, method="GET")
    except HTTPException:
        return None
    return parent


# Only the app's own files: no inline script, handler or style (confirmations are static/js/confirm.js); images
# may also be data: URLs (the room's QR code, Bootstrap's icons); no plugin, no <base>, no form posted elsewhere,
# no framing by another site.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors 'self'")


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    # Personal links carry a token in their path: never send it to another site as a Referer.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    return response


def _register_template_helpers(app: Flask) -> None:
    from training_app import formatting

    app.jinja_env.filters.update(formatting.FILTERS)
    app.jinja_env.globals.update(formatting.GLOBALS)
