"""The domain's operations, callable without a request. Views call these, then commit."""


class ServiceError(Exception):
    """A rule refused the operation. `message` is French and shown to the user as it is;
    `field` names the form field it belongs to, when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def flush_or_refuse(message: str, field: str | None = None) -> None:
    """Write the pending changes now; if the database refuses them as a duplicate (a unique index: another
    request took the same e-mail address a moment ago, past the service's own check), refuse with `message`,
    as that check would have. The transaction is then spoiled: the caller rolls back, as every view does on
    a ServiceError."""
    from sqlalchemy.exc import IntegrityError

    from training_app.extensions import db
    try:
        db.session.flush()
    except IntegrityError:
        raise ServiceError(message, field) from None
