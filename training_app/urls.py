"""Absolute links for e-mails, documents and QR codes, built with or without a request."""
from flask import current_app, has_request_context, url_for


def public_url(endpoint: str, **values) -> str:
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        with current_app.test_request_context("/"):
            path = url_for(endpoint, **values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path
