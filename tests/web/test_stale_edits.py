"""Two people edit the same record: the second save from a stale form is refused (409), writes nothing, keeps
what was typed, says so in French with the stored values that differ, and carries the new version so that
saving again is a deliberate overwrite. Every full edit form of the office (programme, session, trainee,
employer, funder, funding agreement, organisation, staff account, questionnaire, question, convocation texts)
is walked the same way."""
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import inspect

from tests import factories
from training_app.extensions import db
from training_app.models import (ConvocationText, Employer, Funder, FundingAgreement, Organisation, Programme,
                                 Question, Questionnaire, Trainee, TrainingSession, User)

STALE = "Cette fiche a été modifiée par quelqu'un d'autre depuis que vous l'avez ouverte"
BAD_VERSION = "Le formulaire ne dit pas quelle version de la fiche vous avez ouverte"


class _FormReader(HTMLParser):
    """The fields of the page's edit form (the one carrying `version`), as the browser would send them."""

    def __init__(self):
        super().__init__()
        self.forms, self._form, self._textarea, self._select = [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = []
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind not in ("submit", "file", "button"):
                self._form.append([attrs["name"], attrs.get("value", "y" if kind == "checkbox" else "")])
        elif tag == "textarea":
            self._textarea = [attrs["name"], ""]
            self._form.append(self._textarea)
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            self._form.append([self._select, attrs.get("value", "")])

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data


def edit_form(client, url) -> dict:
    """{name: value or [values]} of the edit form at `url`, as opened."""
    response = client.get(url)
    assert response.status_code == 200
    return form_of(response.get_data(as_text=True))


def form_of(html: str) -> dict:
    reader = _FormReader()
    reader.feed(html)
    fields = next(form for form in reader.forms if any(name == "version" for name, _ in form))
    values = {}
    for name, value in fields:
        value = re.sub(r"^\r?\n", "", unescape(value))  # a textarea's first line break is the markup's
        values[name] = values[name] + [value] if isinstance(values.get(name), list) else (
            [values[name], value] if name in values else value)
    return values


def _programme():
    return Programme, factories.make_programme(), "/admin/formations/{id}/modifier", "audience"


def _session():
    return TrainingSession, factories.make_session(), "/sessions/{id}/modifier", "place"


def _trainee():
    enrolment = factories.enrol(factories.make_session(), factories.make_trainee())
    return Trainee, enrolment.trainee, f"/inscriptions/{enrolment.id}/stagiaire", "job_title"


def _employer():
    return Employer, factories.make_employer(), "/financement/structures/{id}", "contact_name"


def _funder():
    return Funder, factories.make_funder(), "/financement/opco/{id}", "contact_name"


def _agreement():
    session = factories.make_session()
    enrolment = factories.enrol(session, factories.make_trainee())
    return FundingAgreement, factories.make_agreement(session, [enrolment]), "/financement/accords/{id}", "notes"


def _organisation():
    return Organisation, factories.make_organisation(), "/admin/organisme/", "city"


def _account():
    return User, factories.make_user("trainer", name="Tom Trainer"), "/admin/comptes/{id}/modifier", "name"


def _questionnaire():
    return (Questionnaire, factories.make_questionnaire(), "/admin/questionnaires/{id}/modifier",
            "introduction")


def _question():
    question = factories.make_questionnaire().questions[0]
    return Question, question, f"/admin/questionnaires/{question.questionnaire_id}/questions/{{id}}", "help_text"


def _convocation_texts():
    from training_app.services import convocations
    session = factories.make_session()
    texts = convocations.save_texts(session, "", "", "Bonjour")
    db.session.commit()
    return ConvocationText, texts, f"/sessions/{session.id}/convocations", "message"


RECORDS = {"programme": _programme, "session": _session, "trainee": _trainee, "employer": _employer,
           "funder": _funder, "agreement": _agreement, "organisation": _organisation, "account": _account,
           "questionnaire": _questionnaire, "question": _question, "convocation_texts": _convocation_texts}


def key_of(record):
    """The primary key of `record` (convocation texts are keyed by their session)."""
    return getattr(record, inspect(type(record)).primary_key[0].key)


@pytest.fixture
def other_admin_client(app):
    client = app.test_client()
    factories.login(client, factories.make_user("admin", name="Bob Bureau"))
    return client


def _stored(model, record_id, field):
    """A stored column of the record; "version": its edit version (a questionnaire's `edit_version`)."""
    db.session.expire_all()
    return getattr(db.session.get(model, record_id), model.edit_version_key if field == "version" else field)


@pytest.mark.parametrize("kind", RECORDS)
def test_a_stale_form_is_refused_keeps_what_was_typed_and_saves_again_on_purpose(kind, admin_client,
                                                                                  other_admin_client):
    model, record, url, field = RECORDS[kind]()
    record_id = key_of(record)
    url = url.format(id=record_id)
    mine = edit_form(admin_client, url)
    theirs = edit_form(other_admin_client, url)
    assert mine["version"] == theirs["version"] == "1"

    saved = other_admin_client.post(url, data=dict(theirs, **{field: "Saisie de Bob"}))
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert _stored(model, record_id, field) == "Saisie de Bob"
    assert _stored(model, record_id, "version") == 2

    refused = admin_client.post(url, data=dict(mine, **{field: "Saisie d'Alice"}))
    assert refused.status_code == 409
    assert _stored(model, record_id, field) == "Saisie de Bob"  # nothing written
    assert _stored(model, record_id, "version") == 2
    page = refused.get_data(as_text=True)
    assert STALE in unescape(page)
    again = form_of(page)
    assert again[field] == "Saisie d'Alice"  # what was typed is kept
    assert again["version"] == "2"  # saving again is a deliberate overwrite
    differences = unescape(page.split('class="mb-0 stale-differences"')[1].split("</ul>")[0])
    assert "Saisie de Bob" in differences  # the stored value that differs from what was typed
    assert len(re.findall("<li>", differences)) == 1  # and only the field that differs

    overwritten = admin_client.post(url, data=again)
    assert overwritten.status_code == 302
    assert _stored(model, record_id, field) == "Saisie d'Alice"
    assert _stored(model, record_id, "version") == 3


@pytest.mark.parametrize("kind", RECORDS)
@pytest.mark.parametrize("version", [None, "", "abc", "1.5", "-1", "0", "99999999999999999999"])
def test_a_missing_or_bad_version_is_refused_in_french_writing_nothing(kind, version, admin_client):
    model, record, url, field = RECORDS[kind]()
    record_id = key_of(record)
    url = url.format(id=record_id)
    before = _stored(model, record_id, field)
    data = dict(edit_form(admin_client, url), **{field: "Saisie sans version"})
    if version is None:
        del data["version"]
    else:
        data["version"] = version
    response = admin_client.post(url, data=data)
    assert response.status_code == 200
    assert BAD_VERSION in unescape(response.get_data(as_text=True))
    assert _stored(model, record_id, field) == before
    assert _stored(model, record_id, "version") == 1


def test_saving_an_unchanged_form_does_not_move_the_version(admin_client):
    """Only a real edit makes the forms open elsewhere stale."""
    trainee_form = _trainee()
    record, url = trainee_form[1], trainee_form[2]
    response = admin_client.post(url, data=edit_form(admin_client, url))
    assert response.status_code == 302
    assert _stored(Trainee, record.id, "version") == 1


def test_a_form_opened_before_a_status_change_still_saves(admin_client):
    """Archiving a programme is not an edit of its form: a catalogue form opened before it still saves."""
    programme = factories.make_programme()
    url = f"/admin/formations/{programme.id}/modifier"
    form = edit_form(admin_client, url)
    assert admin_client.post(f"/admin/formations/{programme.id}/archiver", data={"archived": "1"}).status_code == 302
    assert _stored(Programme, programme.id, "archived") is True
    response = admin_client.post(url, data=dict(form, audience="Tout public"))
    assert response.status_code == 302
    assert _stored(Programme, programme.id, "audience") == "Tout public"
    assert _stored(Programme, programme.id, "version") == 2


def test_another_write_to_a_row_a_form_saved_meanwhile_is_refused_in_french_not_a_500(admin_client, monkeypatch):
    """Archiving reads the programme, a catalogue form is saved by someone else before it writes: the
    version_id_col check refuses the archiving (409, nothing kept) rather than write over a row it did not read."""
    from sqlalchemy import update

    from training_app.services import programmes as programme_service
    programme = factories.make_programme()
    archive = programme_service.set_archived

    def saved_meanwhile_then_archive(record, archived):
        db.session.execute(update(Programme).where(Programme.id == record.id).values(version=2)
                           .execution_options(synchronize_session=False))
        archive(record, archived)

    monkeypatch.setattr(programme_service, "set_archived", saved_meanwhile_then_archive)
    response = admin_client.post(f"/admin/formations/{programme.id}/archiver", data={"archived": "1"})
    assert response.status_code == 409
    assert "Cette fiche vient d'être modifiée par quelqu'un d'autre : rien n'a été enregistré." in unescape(
        response.get_data(as_text=True))
    assert _stored(Programme, programme.id, "archived") is False
    assert _stored(Programme, programme.id, "version") == 1


def test_the_differences_name_choices_and_ticked_boxes_by_their_labels(admin_client, other_admin_client):
    session = factories.make_session(status="open")
    factories.make_user("trainer", name="Camille Le Gall")
    url = f"/sessions/{session.id}/modifier"
    mine, theirs = edit_form(admin_client, url), edit_form(other_admin_client, url)
    camille = db.session.scalar(db.select(User.id).where(User.name == "Camille Le Gall"))
    assert other_admin_client.post(url, data=dict(theirs, status="planned", trainers=[camille])).status_code == 302

    refused = admin_client.post(url, data=mine)  # she changed nothing: only Bob's changes differ
    assert refused.status_code == 409
    differences = unescape(refused.get_data(as_text=True).split('class="mb-0 stale-differences"')[1].split("</ul>")[0])
    items = [re.sub(r"<[^>]+>", "", item).strip() for item in differences.split("<li>")[1:]]
    assert items == ["État : Planifiée", "Formateur·rices : Camille Le Gall"]


@pytest.mark.parametrize("answer", ["accorder", "refuser"])
def test_an_agreement_form_opened_before_the_funder_s_answer_cannot_undo_it(answer, admin_client,
                                                                           other_admin_client):
    _model, agreement, url, _field = _agreement()
    agreement_id, url = agreement.id, url.format(id=agreement.id)
    mine = edit_form(admin_client, url)
    data = ({"accord-amount": "315", "accord-decided_on": "2018-11-20", "accord-file_number": "UNI-2018-042",
             "accord-hourly_rate": "15"}
            if answer == "accorder" else {"refus-reason": "Hors des priorités", "refus-decided_on": "2018-11-20"})
    answered = other_admin_client.post(f"{url}/{answer}", data=data)
    assert answered.status_code == 302
    status = _stored(FundingAgreement, agreement_id, "status")

    refused = admin_client.post(url, data=dict(mine, notes="Relancé par téléphone"))
    assert refused.status_code == 409 and STALE in unescape(refused.get_data(as_text=True))
    assert _stored(FundingAgreement, agreement_id, "status") == status
    assert _stored(FundingAgreement, agreement_id, "notes") != "Relancé par téléphone"


def test_a_session_form_opened_before_a_half_day_change_cannot_rebuild_the_old_half_days(admin_client,
                                                                                        other_admin_client):
    _model, session, url, _field = _session()
    session_id, url = session.id, url.format(id=session.id)
    mine = edit_form(admin_client, url)  # Tuesday 5 to Friday 8 March 2030, 6 half-days
    added = other_admin_client.post(f"/sessions/{session_id}/creneaux",
                                    data={"date": "2030-03-20", "start_time": "09:30", "end_time": "12:30"})
    assert added.status_code == 302

    refused = admin_client.post(url, data=dict(mine, place="Salle du fond"))
    assert refused.status_code == 409 and STALE in unescape(refused.get_data(as_text=True))
    db.session.expire_all()
    kept = db.session.get(TrainingSession, session_id)
    assert len(kept.slots) == 7 and kept.end_at.date().isoformat() == "2030-03-20" and kept.place != "Salle du fond"


def test_an_employer_form_opened_before_an_enrolment_gave_its_siret_cannot_blank_it(admin_client, other_admin_client,
                                                                                     client):
    """The office's enrol form completes an employer's missing SIRET (a new version): a form opened before
    cannot blank it. The public form changes no employer (it tells the office the SIRET typed)."""
    from tests.web.test_enrolments import new_trainee_form
    from tests.web.test_public_registration import registration

    employer = factories.make_employer(name="CCAS de Rennes", siret="")
    employer_id, url = employer.id, f"/financement/structures/{employer.id}"
    mine = edit_form(admin_client, url)
    session = factories.make_session()
    registered = factories.register_and_confirm(client, session, registration(
        employer_name="CCAS de Rennes", employer_siret="783 245 210 00001"))
    assert registered.status_code == 200 and _stored(Employer, employer_id, "siret") == ""
    enrolled = other_admin_client.post(f"/sessions/{session.id}/inscrire", data=new_trainee_form(
        email="autre@example.org", employer_name="ccas de rennes", employer_siret="783 245 210 00001"))
    assert enrolled.status_code == 302 and _stored(Employer, employer_id, "siret") == "78324521000001"

    refused = admin_client.post(url, data=dict(mine, contact_name="Claire"))
    assert refused.status_code == 409
    assert _stored(Employer, employer_id, "siret") == "78324521000001"


def test_convocation_texts_opened_before_any_were_written_the_second_first_save_is_refused(admin_client,
                                                                                           other_admin_client):
    """No texts stored yet: both forms are at version 1; the first save writes them, the second is stale."""
    session = factories.make_session()
    url = f"/sessions/{session.id}/convocations"
    mine, theirs = edit_form(admin_client, url), edit_form(other_admin_client, url)
    assert mine["version"] == theirs["version"] == "1"
    assert other_admin_client.post(url, data=dict(theirs, what_to_bring="Un ordinateur")).status_code == 302
    refused = admin_client.post(url, data=dict(mine, message="Bienvenue !"))
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert STALE in unescape(page)
    again = form_of(page)
    assert again["message"] == "Bienvenue !" and again["version"] == "2"
    assert "Un ordinateur" in unescape(page.split('class="mb-0 stale-differences"')[1].split("</ul>")[0])
    assert _stored(ConvocationText, session.id, "what_to_bring") == "Un ordinateur"
    assert _stored(ConvocationText, session.id, "message") == ""
    assert admin_client.post(url, data=dict(again, what_to_bring="Un ordinateur")).status_code == 302
    assert (_stored(ConvocationText, session.id, "message"), _stored(ConvocationText, session.id, "version")) == (
        "Bienvenue !", 3)


def test_a_question_form_stays_valid_when_other_questions_change_or_move(admin_client, other_admin_client):
    """Each question has its own version: editing, adding or moving others (or the questionnaire's own form)
    does not make a form opened on one stale; nor does a change of questions make the questionnaire's form."""
    questionnaire = factories.make_questionnaire()
    first, second, _third = questionnaire.questions
    base = f"/admin/questionnaires/{questionnaire.id}"
    mine = edit_form(admin_client, f"{base}/questions/{first.id}")
    mine_too = edit_form(admin_client, f"{base}/modifier")
    theirs = edit_form(other_admin_client, f"{base}/questions/{second.id}")
    assert other_admin_client.post(f"{base}/questions/{second.id}",
                                   data=dict(theirs, help_text="Une seule réponse")).status_code == 302
    assert other_admin_client.post(f"{base}/questions/{first.id}/deplacer", data={"direction": "down"}
                                   ).status_code == 302
    assert other_admin_client.post(f"{base}/questions/nouvelle", data={"type": "yes_no", "text": "Encore ?"}
                                   ).status_code == 302
    assert admin_client.post(f"{base}/questions/{first.id}", data=dict(mine, help_text="De 1 à 5")).status_code == 302
    assert admin_client.post(f"{base}/modifier", data=dict(mine_too, introduction="Merci !")).status_code == 302
    assert (_stored(Question, first.id, "help_text"), _stored(Question, second.id, "help_text")) == (
        "De 1 à 5", "Une seule réponse")
    assert _stored(Question, first.id, "position") == 2
    assert (_stored(Questionnaire, questionnaire.id, "introduction"),
            _stored(Questionnaire, questionnaire.id, "version")) == ("Merci !", 2)
    assert db.session.get(Questionnaire, questionnaire.id).version == 1  # the version trainees answer: untouched
