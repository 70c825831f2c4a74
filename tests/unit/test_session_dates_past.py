"""A session is not created, nor moved, with an end already past (sessions.check_dates), unless it is recorded
once over on purpose (create_session(recorded_afterwards=True): « Session déjà réalisée », from paper sheets)."""
from dataclasses import replace
from datetime import datetime

import pytest

from tests import factories
from training_app.clock import frozen_at
from training_app.services import ServiceError
from training_app.services import sessions as session_service


def _data(programme, **changes):
    return replace(session_service.SessionData(programme=programme, start_at=datetime(2030, 3, 5, 14),
                                               end_at=datetime(2030, 3, 8, 12, 30)), **changes)


def test_a_session_ended_already_is_refused_on_its_end_date():
    programme = factories.make_programme()
    with frozen_at(datetime(2030, 3, 9, 9, 0)), pytest.raises(ServiceError) as refused:
        session_service.create_session(_data(programme))
    assert refused.value.field == "end_date"
    assert refused.value.message.startswith("La fin de la session (08/03/2030 à 12h30) est déjà passée")


def test_a_session_recorded_afterwards_may_have_ended():
    programme = factories.make_programme()
    with frozen_at(datetime(2030, 3, 9, 9, 0)):
        session = session_service.create_session(_data(programme, status="completed"), recorded_afterwards=True)
    assert session.end_at == datetime(2030, 3, 8, 12, 30) and len(session.slots) == 6


def test_a_session_is_not_moved_to_an_end_already_past():
    session = factories.make_session()  # 5 to 8 March 2030
    with frozen_at(datetime(2030, 3, 1, 9, 0)), pytest.raises(ServiceError) as refused:
        session_service.update_session(session, _data(session.programme, start_at=datetime(2030, 2, 25, 14),
                                                      end_at=datetime(2030, 2, 28, 12, 30)))
    assert refused.value.field == "end_date" and "est déjà passée" in refused.value.message
