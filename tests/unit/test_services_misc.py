from datetime import datetime

import pytest

from tests import factories
from training_app import formatting
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AuditEntry, EnrolmentStatus
from training_app.services import ServiceError, audit, enrolments, mail, programmes, users


def test_objective_lines_strip_bullets_and_blank_lines():
    text = "• de s'approprier des outils,\n\n- d'élargir son panel ;\n  de savoir suivre  "
    assert programmes.objective_lines(text) == ["de s'approprier des outils", "d'élargir son panel",
                                                "de savoir suivre"]


def test_editing_objectives_keeps_a_reworded_one_at_its_place():
    programme = programmes.save_programme(None, {"title": "Négocier", "kind": "external"}, ["A", "B", "C"])
    db.session.commit()
    first_id = programme.objectives[0].id
    programmes.save_programme(programme, {}, ["A reformulé", "B", "C"])
    db.session.commit()
    assert [(o.position, o.text) for o in programme.objectives] == [(1, "A reformulé"), (2, "B"), (3, "C")]
    assert programme.objectives[0].id == first_id
    assert [e.action for e in audit.history(programme)] == ["created", "updated"]


def test_duplicate_email_and_short_password_are_refused():
    users.create_user("Claire@Example.org", "Claire", "admin", "a-long-password")
    db.session.commit()
    with pytest.raises(ServiceError) as duplicate:
        users.create_user("claire@example.org", "Autre", "trainer", "another-long-one")
    assert duplicate.value.field == "email"
    with pytest.raises(ServiceError, match="10 caractères"):
        users.create_user("x@example.org", "X", "trainer", "short")


def test_authenticate_refuses_inactive_accounts():
    user = factories.make_user(active=False)
    assert users.authenticate(user.email, factories.PASSWORD) is None
    user.active = True
    db.session.commit()
    assert users.authenticate(user.email.upper(), factories.PASSWORD) == user


def test_enrol_confirms_up_to_capacity_then_waitlists_and_audits():
    session = factories.make_session(capacity=2)
    states = [enrolments.enrol(session, factories.make_trainee()).status for _ in range(3)]
    db.session.commit()
    assert states == [EnrolmentStatus.CONFIRMED, EnrolmentStatus.CONFIRMED, EnrolmentStatus.WAITLISTED]
    entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.entity_type == "enrolments")).all()
    assert [e.to_state for e in entries] == ["confirmed", "confirmed", "waitlisted"]


def test_enrol_refuses_duplicates_and_past_sessions():
    session = factories.make_session()
    trainee = factories.make_trainee()
    enrolments.enrol(session, trainee)
    db.session.commit()
    with pytest.raises(ServiceError, match="déjà inscrit"):
        enrolments.enrol(session, trainee)
    past = factories.make_session(start=datetime(2018, 12, 11, 14), end=datetime(2018, 12, 14, 12, 30))
    with pytest.raises(ServiceError, match="terminée"):
        enrolments.enrol(past, trainee)


def test_mail_is_sent_only_after_commit(outbox):
    mail.queue("a@example.org", "Sujet", "Corps")
    assert outbox == []
    db.session.rollback()
    db.session.commit()
    assert outbox == []
    factories.make_trainee()  # commits
    mail.queue("b@example.org", "Sujet", "Corps")
    db.session.commit()
    assert [m.to for m in outbox] == [["b@example.org"]]


def test_a_serving_process_captures_mail_in_the_outbox_file_only(app, monkeypatch, tmp_path):
    """Without MAIL_SERVER outside tests (development, the demo): the file, read by the outbox page; nothing
    kept in the process's memory, which would grow with every message."""
    monkeypatch.setitem(app.config, "TESTING", False)
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    before = len(app.extensions["outbox"])
    for n in range(3):
        mail.deliver(mail.Mail(to=[f"personne{n}@example.org"], subject="Sujet", body="Corps"))
    assert len(app.extensions["outbox"]) == before
    assert [m["to"] for m in mail.captured(app)] == [[f"personne{n}@example.org"] for n in (2, 1, 0)]


def test_captured_mail_is_dated_when_it_was_written(app, monkeypatch, tmp_path):
    """Not when the transaction's commit delivered it: the demo writes its 2018 convocations at a frozen time
    and commits after; the outbox said they were sent the day the demo was loaded."""
    monkeypatch.setitem(app.config, "TESTING", False)
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    with frozen_at(datetime(2018, 11, 26, 9, 30)):
        message = mail.Mail(to=["awa@example.org"], subject="Convocation", body="Corps")
    mail.deliver(message)
    assert mail.captured(app)[0]["at"] == datetime(2018, 11, 26, 8, 30)  # UTC


@pytest.mark.parametrize("minutes, shown", [(420, "7 h"), (210, "3 h 30"), (0, "0 h")])
def test_hours(minutes, shown):
    assert formatting.hours(minutes) == shown


def test_money():
    assert formatting.money(123456) == "1\u202f234,56 €"
    assert formatting.money(None) == "Sur demande"


def test_confirm_messages_cannot_break_out_of_javascript(app):
    with app.test_request_context():
        macros = app.jinja_env.get_template("_macros.html").module
        html = str(macros.post_button("/x", "Supprimer", confirm="Supprimer O'Brien'); alert(1); ('"))
    assert "alert(1); ('" not in html
    assert 'confirm(&#34;Supprimer O&#39;Brien&#39;); alert(1); (&#39;&#34;)' in html or "\\u0027" in html
