from datetime import date, datetime

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
    assert outbox == [] and mail.outbox() == []  # the rollback took its row too
    factories.make_trainee()  # commits
    mail.queue("b@example.org", "Sujet", "Corps")
    db.session.commit()
    assert [m.to for m in outbox] == [["b@example.org"]]
    (record,) = mail.outbox()
    assert (record.recipients, record.status, outbox[0].record_id) == (["b@example.org"], "captured", record.id)


def test_mail_written_in_a_rolled_back_savepoint_is_not_sent(outbox):
    """E.g. a row of an imported list refused after its e-mail was written: neither the row nor the e-mail."""
    factories.make_trainee()
    mail.queue("avant@example.org", "Sujet", "Corps")  # before: the import's rows already enrolled
    with pytest.raises(ServiceError):
        with db.session.begin_nested():
            mail.queue("refuse@example.org", "Sujet", "Corps")
            raise ServiceError("refusé")
    mail.queue("apres@example.org", "Sujet", "Corps")
    db.session.commit()
    assert [m.to for m in outbox] == [["avant@example.org"], ["apres@example.org"]]  # the first was dropped too
    assert [r.recipients for r in mail.outbox()] == [["apres@example.org"], ["avant@example.org"]]


def test_a_serving_process_keeps_captured_mail_in_the_database_only(app, monkeypatch):
    """Without MAIL_SERVER outside tests (development, the demo): rows, read by the outbox page; nothing
    kept in the process's memory, which would grow with every message."""
    monkeypatch.setitem(app.config, "TESTING", False)
    before = len(app.extensions["outbox"])
    for n in range(3):
        mail.queue(f"personne{n}@example.org", "Sujet", "Corps")
    db.session.commit()
    assert len(app.extensions["outbox"]) == before
    records = mail.outbox()
    assert [m.recipients for m in records] == [[f"personne{n}@example.org"] for n in (2, 1, 0)]
    assert {m.status for m in records} == {"captured"} and {m.claimed_at for m in records} == {None}


def test_captured_mail_is_dated_when_it_was_written(app, monkeypatch):
    """Not when the transaction committed: the demo writes its 2018 convocations at a frozen time and commits
    after; the outbox said they were sent the day the demo was loaded."""
    monkeypatch.setitem(app.config, "TESTING", False)
    with frozen_at(datetime(2018, 11, 26, 9, 30)):
        mail.queue("awa@example.org", "Convocation", "Corps")
    db.session.commit()
    assert mail.outbox()[0].queued_at == datetime(2018, 11, 26, 8, 30)  # UTC


@pytest.mark.parametrize("minutes, shown", [(420, "7 h"), (210, "3 h 30"), (0, "0 h")])
def test_hours(minutes, shown):
    assert formatting.hours(minutes) == shown


@pytest.mark.parametrize("day, fmt, shown", [
    (date(2018, 12, 1), "d MMMM y", "1er décembre 2018"), (date(2018, 12, 1), None, "samedi 1er décembre 2018"),
    (date(2018, 10, 1), "'le' d MMMM", "le 1er octobre"), (date(2018, 12, 11), "d MMMM y", "11 décembre 2018"),
    (date(2018, 12, 21), None, "vendredi 21 décembre 2018"), (date(2018, 12, 1), "dd/MM/y", "01/12/2018"),
    (datetime(2018, 12, 1, 9, 30), "short", "01/12/2018"),
])
def test_dates_in_words_write_the_first_of_the_month_1er(app, day, fmt, shown):
    assert (formatting.date_fr(day) if fmt is None else formatting.date_fr(day, fmt)) == shown


def test_money():
    assert formatting.money(123456) == "1\u202f234,56\u202f€"
    assert formatting.money(None) == "Sur demande"
    assert formatting.money(120000) == "1\u202f200,00\u202f€" and formatting.money(-5) == "-0,05\u202f€"
    assert " " not in formatting.money(123456789)  # never cut at the end of a line


def test_percent():
    assert formatting.percent(87) == "87\u202f%" and formatting.percent(None) == ""


@pytest.mark.parametrize("name, shown", [
    ("Awa Diallo", "d'Awa Diallo"), ("Uniformation", "d'Uniformation"), ("Association Bretagne", "d'Association Bretagne"),
    ("Élodie Le Goff", "d'Élodie Le Goff"), ("Èva", "d'Èva"), ("Île-de-France Mobilités", "d'Île-de-France Mobilités"),
    ("Œuvre commune", "d'Œuvre commune"), ("Yves Marchand", "d'Yves Marchand"), ("élodie", "d'élodie"),
    ("Julien Le Bihan", "de Julien Le Bihan"), ("Yasmine Haddad", "de Yasmine Haddad"),  # y before a vowel
    ("Hélène Roux", "de Hélène Roux"), ("Hugo", "de Hugo"),  # a mute h is not guessed
    ("3F Habitat", "de 3F Habitat"), ("« Ensemble »", "de « Ensemble »"), ("", "de"), (None, "de"),
])
def test_de_elides_before_a_vowel(name, shown):
    assert formatting.de(name) == shown


def test_de_is_a_template_filter(app):
    assert app.jinja_env.from_string("Fiche {{ name|de }}").render(name="Awa Diallo") == "Fiche d&#39;Awa Diallo"


def test_confirm_messages_cannot_break_out_of_their_attribute(app):
    """The question is data, never code: an escaped attribute (static/js/confirm.js reads it), no inline handler."""
    with app.test_request_context():
        macros = app.jinja_env.get_template("_macros.html").module
        html = str(macros.post_button("/x", "Supprimer", confirm='Supprimer O\'Brien"> <script>alert(1)</script>'))
    assert "<script>" not in html and "onsubmit" not in html
    assert 'data-confirm="Supprimer O&#39;Brien&#34;&gt; &lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert factories.asked(html) == 'Supprimer O\'Brien"> <script>alert(1)</script>'


def test_the_outbox_lists_the_most_recent_messages_first_whatever_order_they_were_written_in(app, monkeypatch):
    """The demo writes its 2019 messages after those of 2026: the outbox page says newest first."""
    monkeypatch.setitem(app.config, "TESTING", False)
    with frozen_at(datetime(2026, 11, 24, 9, 0)):
        mail.queue("recent@example.org", "Convocation", "Corps")
    with frozen_at(datetime(2019, 3, 1, 9, 0)):
        mail.queue("ancien@example.org", "Annulation", "Corps")
    db.session.commit()
    assert [m.recipients for m in mail.outbox()] == [["recent@example.org"], ["ancien@example.org"]]
