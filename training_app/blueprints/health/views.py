from flask import jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from training_app.access import PUBLIC, access
from training_app.blueprints.health import bp
from training_app.extensions import db, limiter


@bp.route("/healthz")
@access(PUBLIC)
@limiter.exempt
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
