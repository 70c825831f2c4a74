"""Behind the reverse proxy (TRUSTED_PROXY_HOPS), the client's address is the one the proxy saw."""
from datetime import timedelta

import pytest

from tests import factories
from tests.conftest import FreshContextClient
from training_app import create_app
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import Signature


def _app(app, hops: int):
    proxied = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                     "STORAGE_DIR": app.config["STORAGE_DIR"], "TRUSTED_PROXY_HOPS": hops})
    proxied.test_client_class = FreshContextClient
    return proxied


@pytest.mark.parametrize("hops, recorded", [(1, "203.0.113.7"), (0, "127.0.0.1")])
def test_a_signature_records_the_address_the_proxy_forwarded_only_when_the_proxy_is_trusted(app, hops, recorded):
    trainer = factories.make_user("trainer")
    session, (awa,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    slot = session.slots[0]
    served = _app(app, hops)
    try:
        tablet = served.test_client()
        factories.login(tablet, trainer)
        with frozen_at(slot.starts_at + timedelta(minutes=5)):
            # The proxy appends the address it saw; anything before it came from the client itself.
            response = tablet.post(f"/sessions/{session.id}/emargement/{slot.id}/signer/{awa.id}",
                                   data={"signature": factories.signature_data_url()},
                                   headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7",
                                            "X-Forwarded-Proto": "https"},
                                   environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert response.status_code == 302
    finally:
        with served.app_context():
            db.engine.dispose()
    assert db.session.scalar(db.select(Signature.ip_address)) == recorded
