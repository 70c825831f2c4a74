"""Certificates are flagged outdated (certificates.OverviewRow) when what they state changes after issuing: the
session's place or modality, the employer of the course (corrected on the enrolment, or named by a funding
agreement), the nature of the action, the trainee's name, civility or job title, as they already were for the hours
attended and the results per objective; each document on what its own template printed."""
import html

from tests import factories
from tests.certificate_course import assess, completed_course
from training_app.documents import word
from training_app.extensions import db
from training_app.models import Enrolment, IssuedCertificate
from training_app.services import enrolments
from training_app.services import certificates as certificate_service


def _rows(session) -> dict[str, certificate_service.OverviewRow]:
    return {row.enrolment.trainee.first_name: row for row in certificate_service.session_overview(session)}


def _issued_course():
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    return course


def test_a_new_place_or_modality_after_issuing_makes_every_document_of_the_session_outdated():
    course = _issued_course()
    session = course.session
    assert not any(row.outdated for row in _rows(session).values())
    place = session.place

    session.place = "Maison des associations, 6 cours des Alliés, Rennes"
    db.session.commit()
    rows = _rows(session)
    assert all(row.place_outdated and row.outdated for row in rows.values())
    assert not any(row.employer_outdated or row.hours_outdated for row in rows.values())

    session.place = place
    session.modality = "remote"
    db.session.commit()
    assert all(row.place_outdated for row in _rows(session).values())

    certificate_service.issue_for_enrolment(course.enrolments[0], unrecorded_confirmed=True)
    db.session.commit()
    rows = _rows(session)
    assert not rows["Awa"].outdated and rows["Julien"].place_outdated
    assert {doc.version for doc in rows["Awa"].documents.values()} == {2}


def test_documents_issued_before_the_place_was_kept_are_not_compared():
    course = completed_course(trainees=("Awa Diallo",))
    factories.make_issued_certificate(course.enrolments[0])  # as revision 0029 leaves older ones: NULL
    course.session.place, course.session.modality = "Ailleurs", "remote"
    db.session.commit()
    row = _rows(course.session)["Awa"]
    assert row.documents and not row.place_outdated and not row.employer_outdated


def test_correcting_the_employer_of_an_enrolment_makes_its_documents_outdated():
    course = _issued_course()
    awa, julien = course.enrolments
    association = factories.make_employer(name="Association Les Liens", siret="44195127000004")
    assert certificate_service.naming_another_employer(awa) == []

    enrolments.set_employer(awa, association)  # she followed the course on her own account, the office says not
    db.session.commit()
    rows = _rows(course.session)
    assert rows["Awa"].employer_outdated and rows["Awa"].outdated and rows["Awa"].stated_employer == ""
    assert not rows["Julien"].outdated
    assert [doc.kind for doc in certificate_service.naming_another_employer(awa)] == ["attestation", "realisation"]

    enrolments.set_employer(julien, None)
    db.session.commit()
    assert _rows(course.session)["Julien"].stated_employer == "CCAS de Rennes"

    certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)
    db.session.commit()
    assert not _rows(course.session)["Awa"].outdated and certificate_service.naming_another_employer(awa) == []
    current = certificate_service.current_documents(db.session.get(Enrolment, awa.id))
    assert {(doc.employer_name, doc.employer_siret) for doc in current.values()} == {
        ("Association Les Liens", "44195127000004")}


def test_a_funding_agreement_naming_another_employer_after_issuing_makes_the_documents_outdated():
    course = _issued_course()
    association = factories.make_employer(name="Association Les Liens", siret="44195127000004")
    factories.make_agreement(course.session, [course.enrolments[1]], employer=association)
    db.session.commit()
    rows = _rows(course.session)
    assert rows["Julien"].employer_outdated and rows["Julien"].stated_employer == "CCAS de Rennes"
    assert not rows["Awa"].outdated


def test_the_session_page_shows_them_and_offers_the_reissue(admin_client):
    course = _issued_course()
    awa = course.enrolments[0]
    course.session.modality = "mixed"
    db.session.commit()
    association = factories.make_employer(name="Association Les Liens", siret="")
    response = admin_client.post(f"/inscriptions/{awa.id}/employeur", data={"employer_id": association.id},
                                 follow_redirects=True)
    text = html.unescape(response.get_data(as_text=True))
    numbers = [doc.number for doc in db.session.scalars(
        db.select(IssuedCertificate).where(IssuedCertificate.enrolment_id == awa.id)
        .order_by(IssuedCertificate.kind))]
    assert (f"Les documents déjà émis ne nomment aucune structure employeuse (à titre individuel) : Attestation "
            f"individuelle de fin de formation n° {numbers[0]}, Certificat de réalisation n° {numbers[1]}. Ils sont "
            f"signalés comme à réémettre") in text

    page = html.unescape(admin_client.get(f"/sessions/{course.session.id}").get_data(as_text=True))
    assert page.count('data-testid="outdated-place"') == 2 and page.count('data-testid="outdated-employer"') == 1
    assert ("les documents ne nomment aucune structure employeuse (à titre individuel) : structure employeuse "
            "corrigée") in page
    assert f'action="/sessions/{course.session.id}/attestations/inscription/{awa.id}/emettre"' in page
    assert page.count("btn btn-sm btn-warning") == 2  # the « Réémettre » buttons of both rows stand out

    admin_client.post(f"/sessions/{course.session.id}/attestations/inscription/{awa.id}/emettre",
                      data={"confirm_unrecorded": "y"})
    page = admin_client.get(f"/sessions/{course.session.id}").get_data(as_text=True)
    assert page.count('data-testid="outdated-place"') == 1 and 'data-testid="outdated-employer"' not in page


def test_the_office_is_told_which_employer_the_documents_still_name(admin_client):
    course = _issued_course()
    julien = course.enrolments[1]
    response = admin_client.post(f"/inscriptions/{julien.id}/employeur", data={"employer_id": 0},
                                 follow_redirects=True)
    text = html.unescape(response.get_data(as_text=True))
    assert "Les documents déjà émis nomment encore CCAS de Rennes : Attestation individuelle de fin de formation" in text
    page = html.unescape(admin_client.get(f"/sessions/{course.session.id}").get_data(as_text=True))
    assert "les documents nomment CCAS de Rennes : structure employeuse corrigée depuis, réémettez" in page


def test_reclassifying_the_programme_after_issuing_flags_the_documents_stating_the_former_nature(admin_client):
    from tests.certificate_course import docx_text
    from training_app.models import BpfObjective
    from training_app.services import programmes

    course = _issued_course()
    awa, julien = course.enrolments
    assert {doc.nature for doc in certificate_service.current_documents(awa).values()} == {"formation"}
    programmes.save_programme(course.programme, {"bpf_objective": BpfObjective.SKILLS_REVIEW},
                              [objective.text for objective in course.programme.objectives])
    db.session.commit()
    rows = _rows(course.session)
    assert all(row.nature_outdated and row.outdated for row in rows.values())
    assert rows["Awa"].stated_nature_label == "Action de formation"
    assert not any(row.place_outdated or row.employer_outdated or row.hours_outdated for row in rows.values())

    certificate_service.issue_for_enrolment(julien, unrecorded_confirmed=True)
    db.session.commit()
    rows = _rows(course.session)
    assert rows["Awa"].nature_outdated and not rows["Julien"].outdated
    attestation = rows["Julien"].documents["attestation"]
    assert attestation.nature == "bilan" and "Bilan de compétences" in docx_text(
        certificate_service.document_bytes(attestation))

    page = html.unescape(admin_client.get(f"/sessions/{course.session.id}").get_data(as_text=True))
    assert page.count('data-testid="outdated-nature"') == 1
    assert "les documents indiquent « Action de formation » : programme reclassé depuis (objectif BPF)" in page


def test_documents_issued_before_their_nature_was_kept_are_not_compared():
    from training_app.models import BpfObjective

    course = completed_course(trainees=("Awa Diallo",))
    factories.make_issued_certificate(course.enrolments[0])  # as revision 0032 leaves older ones: NULL
    course.programme.bpf_objective = BpfObjective.VAE
    db.session.commit()
    row = _rows(course.session)["Awa"]
    assert row.documents and not row.nature_outdated and not row.outdated


def _correct(trainee, **changes):
    from training_app.services import registrations

    details = registrations.PersonDetails(
        civility=trainee.civility, first_name=trainee.first_name, last_name=trainee.last_name, email=trainee.email,
        phone=trainee.phone or "", job_title=trainee.job_title or "", category=trainee.category,
        employer_name=trainee.employer.name if trainee.employer else "",
        employer_siret=(trainee.employer.siret or "") if trainee.employer else "")
    for key, value in changes.items():
        setattr(details, key, value)
    assert registrations.update_trainee(trainee, details, actor=factories.make_user("admin"))
    db.session.commit()


def test_correcting_a_trainees_name_or_civility_after_issuing_makes_their_documents_outdated(admin_client):
    course = _issued_course()
    awa, julien = course.enrolments
    _correct(julien.trainee, last_name="Le Bihan-Morvan")
    rows = _rows(course.session)
    assert rows["Julien"].name_outdated and rows["Julien"].outdated and not rows["Awa"].outdated
    assert rows["Julien"].stated_name.endswith("Julien Le Bihan")
    assert not (rows["Julien"].place_outdated or rows["Julien"].employer_outdated or rows["Julien"].hours_outdated)

    civility = "M." if awa.trainee.civility == "Mme" else "Mme"
    _correct(awa.trainee, civility=civility)
    assert _rows(course.session)["Awa"].name_outdated

    page = html.unescape(admin_client.get(f"/sessions/{course.session.id}").get_data(as_text=True))
    assert page.count('data-testid="outdated-name"') == 2
    assert "Julien Le Bihan : nom corrigé depuis, réémettez" in page

    certificate_service.issue_for_enrolment(julien, unrecorded_confirmed=True)
    db.session.commit()
    assert not _rows(course.session)["Julien"].outdated


def test_names_of_documents_are_not_compared_for_older_documents_civility_nor_records_made_anonymous():
    from training_app.clock import utcnow

    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    awa, julien = course.enrolments
    factories.make_issued_certificate(awa)  # as revision 0032 leaves older ones: no civility kept
    factories.make_issued_certificate(julien)
    awa.trainee.civility = "M." if awa.trainee.civility == "Mme" else "Mme"
    julien.trainee.last_name, julien.trainee.first_name = "[effacé]", ""
    julien.trainee.records_expired_at = utcnow()
    db.session.commit()
    rows = _rows(course.session)
    assert not rows["Awa"].outdated
    assert not {row.enrolment.trainee.last_name: row for row in rows.values()}["[effacé]"].outdated
    awa.trainee.last_name = "Diallo-Traoré"
    db.session.commit()
    assert _rows(course.session)["Awa"].name_outdated


def test_only_what_each_kind_prints_is_compared():
    from training_app.services import registrations

    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))  # Julien for the CCAS
    course.employer.siret = ""
    db.session.commit()
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    registrations.find_or_create_employer(course.employer.name, "26350001200018")  # the SIRET, filled in later
    db.session.commit()
    row = _rows(course.session)["Julien"]
    attestation, realisation = row.documents["attestation"], row.documents["realisation"]
    assert course.employer.siret == "26350001200018" and row.employer_outdated  # the attestation prints it
    assert certificate_service._states_other_employer(attestation, row.employer)
    assert not certificate_service._states_other_employer(realisation, row.employer)  # it prints the name only

    course.session.place, course.session.modality = "Maison des associations, Rennes", "remote"
    db.session.commit()
    assert certificate_service._states_other_place(attestation, course.session)
    assert not certificate_service._states_other_place(realisation, course.session)  # it prints neither

    certificate_service.issue_for_enrolment(course.enrolments[1], unrecorded_confirmed=True)
    db.session.commit()
    assert not _rows(course.session)["Julien"].outdated


def test_correcting_a_trainees_job_title_after_issuing_flags_the_attestation_that_prints_it():
    course = _issued_course()
    awa, julien = course.enrolments
    documents = certificate_service.current_documents(awa)
    # The attestation prints it (« Fonction »), the certificat de réalisation does not: only the first keeps it.
    assert (documents["attestation"].trainee_job_title, documents["realisation"].trainee_job_title) == (
        "Assistante sociale", None)
    _correct(awa.trainee, job_title="Conseillère en économie sociale et familiale")
    rows = _rows(course.session)
    assert rows["Awa"].job_title_outdated and rows["Awa"].outdated and not rows["Julien"].outdated
    assert rows["Awa"].stated_job_title == "Assistante sociale" and rows["Awa"].outdated_reasons == ["fonction"]
    assert not certificate_service._states_other_job_title(documents["realisation"], awa.trainee)

    _correct(julien.trainee, job_title="")  # none now: the attestation printed one
    assert _rows(course.session)["Julien"].job_title_outdated

    certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)
    db.session.commit()
    rows = _rows(course.session)
    assert not rows["Awa"].outdated and rows["Julien"].outdated
    attestation = rows["Awa"].documents["attestation"]
    assert attestation.trainee_job_title == "Conseillère en économie sociale et familiale"


def test_a_job_title_filled_in_after_issuing_flags_the_attestation_that_printed_none():
    course = completed_course(trainees=("Awa Diallo",))
    course.enrolments[0].trainee.job_title = ""
    db.session.commit()
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    assert certificate_service.current_documents(course.enrolments[0])["attestation"].trainee_job_title == ""
    _correct(course.enrolments[0].trainee, job_title="Animatrice")
    row = _rows(course.session)["Awa"]
    assert row.job_title_outdated and row.stated_job_title == ""


def test_documents_issued_before_their_job_title_was_kept_are_not_compared():
    course = completed_course(trainees=("Awa Diallo",))
    factories.make_issued_certificate(course.enrolments[0])  # as revision 0033 leaves older ones: NULL
    course.enrolments[0].trainee.job_title = "Animatrice"
    db.session.commit()
    row = _rows(course.session)["Awa"]
    assert row.documents and not row.job_title_outdated and not row.outdated


# --- each document compared on what its own template printed --------------------------------------------------

def _upload(kind: str, paragraphs, footer: str = ""):
    """A template of these paragraphs (and footer) replacing the shipped one of `kind`."""
    import io

    from docx import Document
    from werkzeug.datastructures import FileStorage

    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.sections[0].footer.paragraphs[0].text = footer
    out = io.BytesIO()
    document.save(out)
    certificate_service.upload_template(kind, FileStorage(io.BytesIO(out.getvalue()), filename="modele.docx"))
    db.session.commit()


def test_the_shipped_templates_print_what_older_documents_are_compared_on():
    course = _issued_course()
    for doc in certificate_service.current_documents(course.enrolments[0]).values():
        assert doc.printed == list(certificate_service.SHIPPED_PRINTS[doc.kind]), doc.kind


def test_a_certificat_de_realisation_from_a_template_printing_the_siret_is_flagged_when_it_changes():
    from training_app.services import registrations

    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))  # Julien for the CCAS
    course.employer.siret = ""  # not known yet
    _upload("realisation", ["{{ trainee.formal_name }}, {{ employer.phrase }}", "{{ hours.attended_words }}",
                            "{{ document.verification_code }}"], footer="SIRET : {{ employer.siret }}")
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    realisation = _rows(course.session)["Julien"].documents["realisation"]
    assert realisation.printed == ["hours", "employer_name", "employer_siret", "name", "civility"]

    registrations.find_or_create_employer(course.employer.name, "26350001200018")  # the SIRET, filled in later
    db.session.commit()
    row = _rows(course.session)["Julien"]
    assert certificate_service._states_other_employer(realisation, row.employer)  # its footer printed none
    assert row.employer_outdated and certificate_service.naming_another_employer(course.enrolments[1]) == [
        row.documents["attestation"], realisation]
    # What it does not print is not compared: the programme reclassified, the nature its template left out.
    from training_app.models import BpfObjective
    course.programme.bpf_objective = BpfObjective.VAE
    db.session.commit()
    row = _rows(course.session)["Julien"]
    assert row.nature_outdated and [doc.kind for doc in row._other_natures] == ["attestation"]


def test_a_template_printing_less_is_not_flagged_for_what_it_does_not_print():
    course = completed_course(trainees=("Awa Diallo",))
    _upload("attestation", ["{{ trainee.formal_name }} — {{ course.title }} — {{ hours.attended }}",
                            "{{ document.verification_code }}"])
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    awa = course.enrolments[0]
    attestation = certificate_service.current_documents(awa)["attestation"]
    assert attestation.printed == ["hours", "name", "civility"] and attestation.results is None
    assert attestation.trainee_job_title is None
    course.session.place, course.session.modality = "Ailleurs", "remote"
    awa.trainee.job_title = "Animatrice"
    db.session.commit()
    assess(course, awa, {1: ("acquired", "Très bien")})
    row = _rows(course.session)["Awa"]
    assert not (row.place_outdated or row.job_title_outdated or row.results_outdated or row.outdated)
    awa.trainee.civility = "M."
    db.session.commit()
    assert _rows(course.session)["Awa"].name_outdated


def test_what_a_template_prints_is_read_from_its_tags_however_written():
    import jinja2

    context = certificate_service.sample_context()
    env = jinja2.Environment()

    def printed(source):
        return certificate_service.printed_fields(word.read_paths(env.parse(source)), context)

    assert printed("{{ trainee['job_title']|upper }}") == ["job_title"]
    assert printed("{{ trainee.job_title.upper() }}") == ["job_title"]
    assert printed("{% for key, value in employer.items() %}{{ value }}{% endfor %}") == [
        "employer_name", "employer_siret", "civility"]  # all of employer, its phrase included
    assert printed("{{ trainee }}") == ["name", "civility", "job_title"]
    assert printed("{{ boxes.vae }} {{ course.title }}") == ["nature"]
    assert printed("{% for r in results %}{{ r.objective }}{% endfor %}") == ["results"]
    assert printed("{{ organisation.name }} {{ document.number }} {{ unknown.thing }}") == []


def test_hours_are_compared_on_the_documents_printing_them_and_on_all_once_no_attendance_is_left():
    course = completed_course(trainees=("Awa Diallo",))
    _upload("attestation", ["{{ trainee.formal_name }} — {{ course.title }}", "{{ document.verification_code }}"])
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    awa = course.enrolments[0]
    documents = certificate_service.current_documents(awa)
    assert "hours" not in documents["attestation"].printed and "hours" in documents["realisation"].printed
    attestation_only = {"attestation": documents["attestation"]}
    assert not certificate_service.OverviewRow(awa, attestation_only, attended_minutes=600).hours_outdated
    assert certificate_service.OverviewRow(awa, documents, attended_minutes=600).hours_outdated  # the realisation
    assert certificate_service.OverviewRow(awa, attestation_only, attended_minutes=0).hours_outdated
