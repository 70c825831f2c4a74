"""What the office types on a session is stored trimmed: the place is printed on convocations and sheets."""
from tests import factories
from training_app.services import sessions as session_service
from training_app.services.sessions import SessionData


def test_the_place_is_stored_without_surrounding_spaces():
    programme = factories.make_programme()
    session = factories.make_session(programme=programme)
    data = SessionData(programme=programme, start_at=session.start_at, end_at=session.end_at,
                       place="  4 rue du Bourbonnais, Rennes \n", status=session.status)
    session_service.update_session(session, data)
    assert session.place == "4 rue du Bourbonnais, Rennes"
    created = session_service.create_session(SessionData(
        programme=programme, start_at=session.start_at, end_at=session.end_at, place=" \nRennes  "))
    assert created.place == "Rennes"
