"""URLs: the `int` converter of every route, and absolute links for e-mails, documents and QR codes,
built with or without a request."""
from flask import current_app, has_request_context, url_for
from werkzeug.routing import IntegerConverter

MAX_ID = 2_147_483_647  # the largest INTEGER of PostgreSQL: every id of the app fits in it


def is_id(value: int) -> bool:
    """Whether `value` may be a database id (an id typed on the command line: a larger one is "not found", not
    an "integer out of range" from the database)."""
    return 1 <= value <= MAX_ID


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a database id, 1 to MAX_ID. A larger number is a 404 (it matches no
    rule) instead of an "integer out of range" from the database."""

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def public_url(endpoint: str, **values) -> str:
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        with current_app.test_request_context("/"):
            path = url_for(endpoint, **values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path
