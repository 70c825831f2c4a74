"""Certificates through the web: issuing, downloads, the .zip, e-mail, trainees, templates, verification, CLI."""
import io
import re
import zipfile

import pytest

from tests import factories
from tests.certificate_course import WEDNESDAY_AFTERNOON, assess, completed_course, docx_text, word_template
from training_app.documents import storage
from training_app.extensions import db
from training_app.formatting import date_fr
from training_app.models import AuditEntry, IssuedCertificate
from training_app.services import attendance
from training_app.services import certificates as certificate_service


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def _issue(course):
    report = certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    return report


def test_admin_issues_a_sessions_documents_from_its_page(admin_client):
    course = completed_course(no_show=[2])
    page = _text(admin_client.get(f"/sessions/{course.session.id}"))
    assert "Émettre les documents de la session" in page and "non émis" in page

    response = admin_client.post(f"/sessions/{course.session.id}/attestations/emettre",
                                 data={"confirm_unrecorded": "y"}, follow_redirects=True)
    page = _text(response)
    assert "4 documents émis." in page
    assert "Sans présence, donc sans attestation : Sophie Renaud." in page
    numbers = [d.number for d in db.session.scalars(db.select(IssuedCertificate))]
    assert len(numbers) == 4 and all(f"n° {n}" in page for n in numbers)


def test_issuing_with_open_slots_is_refused_with_the_list(admin_client):
    course = completed_course(leave_open=[WEDNESDAY_AFTERNOON])
    page = _text(admin_client.post(f"/sessions/{course.session.id}/attestations/emettre", follow_redirects=True))
    assert "Des demi-journées ne sont pas clôturées" in page and "mercredi 12 décembre 2018 14h00–18h00" in page
    assert db.session.scalar(db.select(db.func.count(IssuedCertificate.id))) == 0


def test_issuing_with_missing_settings_lists_them(admin_client):
    course = completed_course()
    factories.make_organisation(legal_representative="", city="")
    response = admin_client.post(f"/sessions/{course.session.id}/attestations/inscription/"
                                 f"{course.enrolments[0].id}/emettre", follow_redirects=True)
    assert "représentant·e légal·e, ville (« Fait à »)" in _text(response)


def test_reissuing_one_trainee_from_the_page(admin_client):
    course = completed_course()
    _issue(course)
    awa = course.enrolments[0]
    old = certificate_service.current_documents(awa)["attestation"]
    page = _text(admin_client.post(f"/sessions/{course.session.id}/attestations/inscription/{awa.id}/emettre",
                                   data={"confirm_unrecorded": "y"}, follow_redirects=True))
    assert "Documents émis pour Awa Diallo" in page
    new = certificate_service.current_documents(awa)["attestation"]
    assert new.version == 2 and new.id != old.id
    history = _text(admin_client.get(f"/sessions/{course.session.id}/attestations"))
    assert "remplacé le" in history and old.number in history and new.number in history


def test_download_serves_the_stored_file_and_trainers_only_see_their_sessions(admin_client, app):
    trainer = factories.make_user("trainer")
    course = completed_course(trainers=[trainer])
    _issue(course)
    doc = certificate_service.current_documents(course.enrolments[0])["realisation"]
    url = f"/sessions/{course.session.id}/attestations/{doc.id}/telecharger"
    response = admin_client.get(url)
    assert response.status_code == 200 and response.data == storage.read(doc.storage_path)
    assert doc.filename in response.headers["Content-Disposition"]

    own = app.test_client()
    factories.login(own, trainer)
    assert own.get(url).status_code == 200
    other = app.test_client()
    factories.login(other, factories.make_user("trainer"))
    assert other.get(url).status_code == 403
    elsewhere = factories.make_session(start=course.session.start_at, end=course.session.end_at)
    assert admin_client.get(f"/sessions/{elsewhere.id}/attestations/{doc.id}/telecharger").status_code == 404


def test_the_session_zip_holds_every_current_document(admin_client):
    course = completed_course()
    assert "Aucune attestation" in _text(admin_client.get(
        f"/sessions/{course.session.id}/attestations.zip", follow_redirects=True))
    _issue(course)
    # a new version replaces two files
    certificate_service.issue_for_enrolment(course.enrolments[0], unrecorded_confirmed=True)
    db.session.commit()
    response = admin_client.get(f"/sessions/{course.session.id}/attestations.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    current = certificate_service.current_documents_for_session(course.session)
    expected = {doc.filename: doc for docs in current.values() for doc in docs.values()}
    assert sorted(archive.namelist()) == sorted(expected) and len(expected) == 6
    for name, doc in expected.items():
        assert archive.read(name) == storage.read(doc.storage_path)


def test_documents_are_emailed_after_commit_with_the_files(admin_client, outbox):
    course = completed_course()
    _issue(course)
    response = admin_client.post(f"/sessions/{course.session.id}/attestations/envoyer", follow_redirects=True)
    assert "Documents envoyés par e-mail à 3 stagiaires." in _text(response)
    assert len(outbox) == 3
    awa = course.enrolments[0]
    message = next(m for m in outbox if m.to == [awa.trainee.email])
    current = certificate_service.current_documents(awa)
    assert [a.filename for a in message.attachments] == [current["attestation"].filename,
                                                          current["realisation"].filename]
    assert message.attachments[0].content == storage.read(current["attestation"].storage_path)
    assert "/moi/" in message.body
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(AuditEntry.action == "sent")) == 6


def test_nothing_is_emailed_when_nothing_was_issued(admin_client, outbox):
    course = completed_course()
    page = _text(admin_client.post(f"/sessions/{course.session.id}/attestations/inscription/"
                                   f"{course.enrolments[0].id}/envoyer", follow_redirects=True))
    assert "Aucune attestation n'a été émise pour Awa Diallo" in page and outbox == []


def test_a_trainee_downloads_their_own_current_documents_only(client):
    course = completed_course()
    _issue(course)
    awa, julien = course.enrolments[0], course.enrolments[1]
    home = _text(client.get(factories.personal_path(awa.trainee)))
    mine = certificate_service.current_documents(awa)
    assert f"Certificat de réalisation n° {mine['realisation'].number} (Word)" in home
    response = client.get(factories.personal_path(awa.trainee, "certificates.trainee_download",
                                                  certificate_id=mine["attestation"].id))
    assert response.status_code == 200 and response.data == storage.read(mine["attestation"].storage_path)
    theirs = certificate_service.current_documents(julien)["attestation"]
    assert client.get(factories.personal_path(awa.trainee, "certificates.trainee_download",
                                              certificate_id=theirs.id)).status_code == 404
    assert client.get(f"/moi/not-a-token/attestations/{mine['attestation'].id}").status_code == 403


def test_a_trainee_s_old_link_to_a_replaced_document_says_which_number_replaces_it(client):
    """The e-mail of the first version links to it: after a re-issue, the link says which document is valid now and
    leads to « Mon espace », which offers it; never another trainee's document, replaced or not."""
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    _issue(course)
    awa, julien = course.enrolments
    old = certificate_service.current_documents(awa)["attestation"]
    theirs = certificate_service.current_documents(julien)["attestation"]
    certificate_service.issue_for_session(course.session, reissue=True, unrecorded_confirmed=True)
    db.session.commit()
    new = certificate_service.current_documents(awa)["attestation"]
    url = factories.personal_path(awa.trainee, "certificates.trainee_download", certificate_id=old.id)
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"].endswith(factories.personal_path(awa.trainee))
    page = _text(client.get(url, follow_redirects=True))
    assert (f"Ce document (Attestation individuelle de fin de formation n° {old.number}) a été remplacé par une "
            f"version corrigée, le n° {new.number} : c'est elle qui est valable") in page
    assert f"Attestation individuelle de fin de formation n° {new.number} (Word)" in page
    assert "Mon espace" in page
    assert client.get(factories.personal_path(awa.trainee, "certificates.trainee_download",
                                              certificate_id=theirs.id)).status_code == 404
    assert new.number not in _text(client.get(factories.personal_path(
        julien.trainee, "certificates.trainee_download", certificate_id=old.id), follow_redirects=True))


def test_a_trainee_s_links_name_the_format_each_document_was_issued_in(client):
    """Issued as Word, the links say « (Word) » like the convocation's; issued as PDF (DOCUMENTS_AS_PDF with
    LibreOffice), « (PDF) »: the trainee downloads the stored file, in the one format it was issued in."""
    course = completed_course()
    _issue(course)
    awa = course.enrolments[0]
    mine = certificate_service.current_documents(awa)
    home = _text(client.get(factories.personal_path(awa.trainee)))
    assert f"Attestation individuelle de fin de formation n° {mine['attestation'].number} (Word)" in home
    assert "Télécharger :" not in home
    mine["realisation"].file_format = "pdf"  # as LibreOffice would have issued it
    db.session.commit()
    home = _text(client.get(factories.personal_path(awa.trainee)))
    assert f"Attestation individuelle de fin de formation n° {mine['attestation'].number} (Word)" in home
    assert f"Certificat de réalisation n° {mine['realisation'].number} (PDF)" in home


def test_a_missing_or_altered_stored_file_is_explained_not_a_500(admin_client, client, outbox):
    """The stored file is the document as issued (its SHA-256 is kept): gone or changed on the server, every way
    to it says so in French (staff: which document, what to do; the trainee: to tell the office)."""
    import os
    course = completed_course()
    _issue(course)
    awa = course.enrolments[0]
    docs = certificate_service.current_documents(awa)
    os.remove(storage.absolute(docs["realisation"].storage_path))
    with open(storage.absolute(docs["attestation"].storage_path), "ab") as altered:
        altered.write(b"!")
    session_page = f"/sessions/{course.session.id}"
    for doc, problem in ((docs["realisation"], "est introuvable sur le serveur"),
                         (docs["attestation"], "ne correspond plus à son empreinte")):
        staff = admin_client.get(f"{session_page}/attestations/{doc.id}/telecharger", follow_redirects=True)
        assert staff.status_code == 200 and f"n° {doc.number} {problem}" in _text(staff)
        trainee = client.get(factories.personal_path(awa.trainee, "certificates.trainee_download",
                                                     certificate_id=doc.id), follow_redirects=True)
        assert trainee.status_code == 200 and "Ce document est momentanément indisponible" in _text(trainee)
    refused = re.compile(r"n° \S+ (est introuvable sur le serveur|ne correspond plus à son empreinte)")
    # the .zip holds the other trainees' documents and lists hers, with why (documents-non-inclus.txt)
    archive = zipfile.ZipFile(io.BytesIO(admin_client.get(f"{session_page}/attestations.zip").data))
    left_out = archive.read("documents-non-inclus.txt").decode("utf-8")
    assert f"n° {docs['realisation'].number} (Awa Diallo) : le fichier est introuvable sur le serveur" in left_out
    assert f"n° {docs['attestation'].number} (Awa Diallo) : le fichier ne correspond plus à son empreinte" in left_out
    assert not {doc.filename for doc in docs.values()} & set(archive.namelist())
    sent = admin_client.post(f"{session_page}/attestations/inscription/{awa.id}/envoyer", follow_redirects=True)
    assert sent.status_code == 200 and refused.search(_text(sent)) and outbox == []


def test_the_verification_page_shows_only_what_is_needed(client):
    course = completed_course(absences={0: [WEDNESDAY_AFTERNOON]})
    _issue(course)
    doc = certificate_service.current_documents(course.enrolments[0])["realisation"]
    page = _text(client.get(f"/verify/{doc.verification_code}"))
    assert "Document valide" in page and "Certificat de réalisation" in page
    assert "Vérification d'un document" in page and "attestation" not in page.lower()  # a certificat is no attestation
    for shown in ("Awa Diallo", course.programme.title, "mardi 11 décembre 2018", "vendredi 14 décembre 2018",
                  "17 h"):
        assert shown in page
    for hidden in (course.enrolments[0].trainee.email, "Assistante sociale", "CCAS", "Acquis", doc.sha256):
        assert hidden not in page


def test_the_verification_page_names_the_organisation_and_the_document_s_own_identity(client):
    """A funder holding a paper copy matches it: who issued it, its kind, number, version and issue date; a replaced
    one says which number replaces it. The trainee's data stay as they were (name, course, dates, hours)."""
    course = completed_course(trainees=("Awa Diallo",))
    _issue(course)
    awa = course.enrolments[0]
    first = certificate_service.current_documents(awa)["realisation"]
    page = _text(client.get(f"/verifier/{first.verification_code}"))
    assert "Document valide : il a bien été émis par Si on s'alliait ? et n'a pas été remplacé." in page
    issued_on = date_fr(certificate_service.issued_on_local(first))
    for shown in ("Certificat de réalisation", f"n° {first.number}, version 1", f"Émis le</dt><dd class=\"col-sm-9\">{issued_on}"):
        assert shown in page
    assert "Remplacé par" not in page
    certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)
    db.session.commit()
    second = certificate_service.current_documents(awa)["realisation"]
    page = _text(client.get(f"/verifier/{first.verification_code}"))
    assert f"Document remplacé : il a bien été émis par Si on s'alliait ?, mais une version corrigée, le n° {second.number}" in page
    assert f"n° {first.number}, version 1" in page and f"n° {second.number}, version 2, émis le" in page
    certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)
    db.session.commit()
    third = certificate_service.current_documents(awa)["realisation"]
    page = _text(client.get(f"/verifier/{first.verification_code}"))
    assert f"n° {second.number}, version 2" in page and f"version en vigueur : n° {third.number}" in page
    assert f"n° {third.number}, version 3" in _text(client.get(f"/verifier/{third.verification_code}"))


def test_a_typed_code_is_found_and_an_unknown_one_is_not(client):
    course = completed_course(trainees=("Awa Diallo",))
    _issue(course)
    doc = certificate_service.current_documents(course.enrolments[0])["attestation"]
    typed = doc.verification_code.lower().replace("-", " ")
    response = client.get("/verify", query_string={"code": typed})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/verifier/{doc.verification_code}")
    assert "Document valide" in _text(client.get(response.headers["Location"]))
    unknown = client.get("/verifier/ZZZZ-ZZZZ-ZZZZ")
    assert unknown.status_code == 404 and "Code inconnu" in _text(unknown)
    assert "Indiquez le code" in _text(client.get("/verifier", query_string={"code": ""}))
    no_code = client.get("/verify", query_string={"code": "éé -"})
    assert no_code.status_code == 200 and "ni lettre ni chiffre" in _text(no_code)


def test_certificates_print_the_french_address_and_the_english_one_still_answers(client):
    course = completed_course(trainees=("Awa Diallo",))
    _issue(course)
    doc = certificate_service.current_documents(course.enrolments[0])["attestation"]
    assert certificate_service.verify_url(doc.verification_code).endswith(f"/verifier/{doc.verification_code}")
    assert f"/verifier/{doc.verification_code}" in docx_text(certificate_service.document_bytes(doc))
    # certificates issued before the French address printed /verify/<code>: it must keep answering
    assert "Document valide" in _text(client.get(f"/verify/{doc.verification_code}"))
    assert client.get("/verify", query_string={"code": doc.verification_code}).status_code == 302


def test_the_verification_page_is_rate_limited(rate_limited_app):
    client = rate_limited_app.test_client()
    statuses = [client.get(f"/verify/AAAA-BBBB-CC{i:02d}").status_code for i in range(21)]
    assert statuses[:20] == [404] * 20 and statuses[20] == 429


def test_admin_replaces_a_template_and_a_broken_one_is_refused(admin_client):
    page = _text(admin_client.get("/admin/attestations/modeles"))
    assert "En service : modèle d'origine." in page
    shipped = admin_client.get("/admin/attestations/modeles/attestation/telecharger")
    assert shipped.status_code == 200 and shipped.data[:2] == b"PK"

    broken = word_template(["{{ trainee.formal_name }", "{{ document.verification_code }}"])
    response = admin_client.post("/admin/attestations/modeles/attestation", content_type="multipart/form-data",
                                 data={"attestation-file": (io.BytesIO(broken), "casse.docx")})
    assert response.status_code == 400
    assert "Une balise du modèle est mal écrite" in _text(response)
    assert certificate_service.template_in_use("attestation") is None

    good = word_template(["Attestation de {{ trainee.formal_name }}", "{{ document.verification_code }} {{ qr_code }}"])
    response = admin_client.post("/admin/attestations/modeles/attestation", content_type="multipart/form-data",
                                 data={"attestation-file": (io.BytesIO(good), "nouveau.docx")})
    assert response.status_code == 302
    assert "modèle envoyé (nouveau.docx)" in _text(admin_client.get("/admin/attestations/modeles"))
    assert admin_client.get("/admin/attestations/modeles/attestation/telecharger").data == good
    admin_client.post("/admin/attestations/modeles/attestation/retablir")
    assert certificate_service.template_in_use("attestation") is None


def test_an_uploaded_template_whose_file_is_gone_is_explained_not_a_500(admin_client):
    import os
    course = completed_course(trainees=("Awa Diallo",))
    template = word_template(["Attestation de {{ trainee.formal_name }}", "{{ document.verification_code }}"])
    admin_client.post("/admin/attestations/modeles/attestation", content_type="multipart/form-data",
                      data={"attestation-file": (io.BytesIO(template), "maison.docx")})
    os.remove(storage.absolute(certificate_service.template_in_use("attestation").storage_path))
    missing = "Le fichier du modèle « Attestation individuelle de fin de formation » en service (« maison.docx »"
    download = admin_client.get("/admin/attestations/modeles/attestation/telecharger", follow_redirects=True)
    assert download.status_code == 200 and missing in _text(download) and "est introuvable sur le serveur" in _text(
        download)
    issued = admin_client.post(f"/sessions/{course.session.id}/attestations/emettre",
                               data={"confirm_unrecorded": "y"}, follow_redirects=True)
    assert issued.status_code == 200 and missing in _text(issued)
    one = admin_client.post(f"/sessions/{course.session.id}/attestations/inscription/{course.enrolments[0].id}"
                            "/emettre", data={"confirm_unrecorded": "y"}, follow_redirects=True)
    assert one.status_code == 200 and missing in _text(one)
    assert db.session.scalar(db.select(db.func.count(IssuedCertificate.id))) == 0


def test_a_template_cannot_reach_pythons_internals(admin_client, tmp_path):
    """Templates are rendered in Jinja's sandbox: an uploaded one cannot run a command on the server."""
    marker = tmp_path / "ran"
    hostile = word_template([f"{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}",
                             "{{ document.verification_code }} {{ qr_code }}"])
    response = admin_client.post("/admin/attestations/modeles/attestation", content_type="multipart/form-data",
                                 data={"attestation-file": (io.BytesIO(hostile), "modele.docx")})
    assert response.status_code == 400
    assert "balise interdite" in _text(response)
    assert not marker.exists()
    assert certificate_service.template_in_use("attestation") is None


def test_trainers_cannot_issue_or_change_templates(trainer_client):
    course = completed_course()
    assert trainer_client.post(f"/sessions/{course.session.id}/attestations/emettre").status_code == 403
    assert trainer_client.get("/admin/attestations/modeles").status_code == 403


def test_cli_issues_a_session_and_prints_where_the_files_are(app):
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["certificates", "issue", str(course.session.id)])
    assert refused.exit_code != 0 and "Acquis jamais renseignés" in refused.output and "Awa Diallo" in refused.output
    assert db.session.scalar(db.select(db.func.count(IssuedCertificate.id))) == 0
    result = runner.invoke(args=["certificates", "issue", str(course.session.id), "--allow-unrecorded"])
    assert result.exit_code == 0, result.output
    docs = list(db.session.scalars(db.select(IssuedCertificate)))
    assert len(docs) == 4 and "4 documents émis" in result.output
    for doc in docs:
        assert storage.absolute(doc.storage_path) in result.output
    again = runner.invoke(args=["certificates", "issue", str(course.session.id)])
    assert "2 stagiaires avaient déjà leurs documents" in again.output
    admin = factories.make_user("admin")
    attendance.reopen_slot(course.session.slots[0], admin, "Signature oubliée")
    db.session.commit()
    refused = runner.invoke(args=["certificates", "issue", str(course.session.id), "--reissue", "--allow-unrecorded"])
    assert refused.exit_code != 0 and "ne sont pas clôturées" in refused.output
    for number in ("999999", "99999999999999999999"):  # the second does not fit an id: not found all the same
        missing = runner.invoke(args=["certificates", "issue", number])
        assert missing.exit_code == 1 and f"Aucune session n°{number}." in missing.output


def test_cli_reissue_prints_the_documents_it_withdraws(app):
    from tests.certificate_course import corrected_to_no_attendance

    course, sophie, _slot, _admin, issued = corrected_to_no_attendance()
    result = app.test_cli_runner().invoke(args=["certificates", "issue", str(course.session.id), "--reissue",
                                               "--allow-unrecorded"])
    assert result.exit_code == 0, result.output
    numbers = ", ".join(doc.number for doc in certificate_service.last_versions_for_session(course.session)[
        sophie.id].values())
    assert sorted(numbers.split(", ")) == sorted(doc.number for doc in issued.values())
    assert f"Documents retirés (plus aucune présence après correction des feuilles) : n° {numbers}" in result.output


def test_cli_issue_names_the_documents_it_keeps_of_a_trainee_left_with_no_attendance(app):
    from tests.certificate_course import corrected_to_no_attendance

    course = corrected_to_no_attendance()[0]
    result = app.test_cli_runner().invoke(args=["certificates", "issue", str(course.session.id), "--allow-unrecorded"])
    assert result.exit_code == 0, result.output
    assert "Les documents de Sophie Renaud restent valides" in result.output and "(--reissue)." in result.output
    assert "Sans présence" not in result.output


def test_the_dashboard_lists_ended_sessions_without_certificates(admin_client, trainer_client):
    course = completed_course(trainees=("Awa Diallo",))
    factories.make_session()  # upcoming: not listed
    page = _text(admin_client.get("/tableau-de-bord"))
    assert "Attestations à émettre" in page and page.count(course.programme.title) == 1
    assert "Attestations à émettre" not in _text(trainer_client.get("/tableau-de-bord"))
    _issue(course)
    assert "Attestations à émettre" not in _text(admin_client.get("/tableau-de-bord"))


def test_the_templates_page_says_which_format_is_issued(admin_client, app, monkeypatch):
    from training_app.documents import pdf
    assert "format Word (.docx)" in _text(admin_client.get("/admin/attestations/modeles"))
    monkeypatch.setitem(app.config, "DOCUMENTS_AS_PDF", True)
    monkeypatch.setattr(pdf, "converter", lambda: None)
    assert "LibreOffice n'est pas installé" in _text(admin_client.get("/admin/attestations/modeles"))
    monkeypatch.setattr(pdf, "converter", lambda: "/usr/bin/soffice")
    assert "émis en PDF" in _text(admin_client.get("/admin/attestations/modeles"))


def test_a_sheet_corrected_after_issuing_is_flagged_until_the_documents_are_reissued(admin_client, admin):
    from datetime import time

    from tests.certificate_course import slot_named
    course = completed_course(trainees=("Awa Diallo",))
    _issue(course)
    awa = course.enrolments[0]
    assert 'data-testid="outdated"' not in _text(admin_client.get(f"/sessions/{course.session.id}"))
    attendance.mark(slot_named(course.session, WEDNESDAY_AFTERNOON), awa, "left_early", actor=admin,
                    departure=time(16, 0), reason="Départ à 16h signalé par la formatrice")
    db.session.commit()
    page = _text(admin_client.get(f"/sessions/{course.session.id}"))
    assert "19 h" in page and "les documents disent 21 h : feuilles corrigées depuis, réémettez" in page
    admin_client.post(f"/sessions/{course.session.id}/attestations/inscription/{awa.id}/emettre",
                      data={"confirm_unrecorded": "y"})
    page = _text(admin_client.get(f"/sessions/{course.session.id}"))
    assert 'data-testid="outdated"' not in page
    assert "pour une durée de 19 heures" in docx_text(
        storage.read(certificate_service.current_documents(awa)["realisation"].storage_path))


def test_the_section_lists_outcomes_never_recorded_and_issuing_them_needs_the_box_ticked(admin_client):
    course = completed_course(no_show=[2])  # Sophie attended nothing: she gets no document, she is not listed
    awa, julien, _sophie = course.enrolments
    assess(course, awa, {1: ("acquired", ""), 2: ("not_assessed", "Absente à l'exercice"), 3: ("acquired", "")})
    assess(course, julien, {1: ("acquired", "")})
    url = f"/sessions/{course.session.id}"
    page = _text(admin_client.get(url))
    listed = page[page.index('data-testid="unrecorded-outcomes"'):]
    listed = listed[:listed.index("</div>")]
    assert "Julien Le Bihan : 2 objectifs non renseignés" in listed
    assert "Awa Diallo" not in listed and "Sophie Renaud" not in listed
    assert f'href="/sessions/{course.session.id}/acquis"' in listed
    assert 'name="confirm_unrecorded"' in page

    page = _text(admin_client.post(f"{url}/attestations/emettre", follow_redirects=True))
    assert "Acquis jamais renseignés par les formateur·rices pour : Julien Le Bihan (2 objectifs sur 3)" in page
    assert "cochez « Émettre malgré les acquis non renseignés »" in page
    assert db.session.scalar(db.select(db.func.count(IssuedCertificate.id))) == 0
    page = _text(admin_client.post(f"{url}/attestations/inscription/{julien.id}/emettre", follow_redirects=True))
    assert "Julien Le Bihan (2 objectifs sur 3)" in page
    assert db.session.scalar(db.select(db.func.count(IssuedCertificate.id))) == 0
    # Awa's outcomes are all recorded: her own button issues without the box
    page = _text(admin_client.post(f"{url}/attestations/inscription/{awa.id}/emettre", follow_redirects=True))
    assert "Documents émis pour Awa Diallo" in page

    page = _text(admin_client.post(f"{url}/attestations/emettre", data={"confirm_unrecorded": "y"},
                                   follow_redirects=True))
    assert "2 documents émis." in page
    assert set(certificate_service.current_documents(julien)) == {"attestation", "realisation"}


def test_a_session_whose_outcomes_are_all_recorded_shows_no_list_nor_box(admin_client):
    course = completed_course(trainees=("Awa Diallo",))
    assess(course, course.enrolments[0], {1: ("acquired", ""), 2: ("not_assessed", ""), 3: ("not_acquired", "")})
    page = _text(admin_client.get(f"/sessions/{course.session.id}"))
    assert 'data-testid="unrecorded-outcomes"' not in page and 'name="confirm_unrecorded"' not in page
    page = _text(admin_client.post(f"/sessions/{course.session.id}/attestations/emettre", follow_redirects=True))
    assert "2 documents émis." in page


def test_outdated_documents_are_not_emailed_until_reissued(admin_client, outbox):
    from tests.certificate_course import slot_named

    course = completed_course()
    _issue(course)
    awa = course.enrolments[0]
    attendance.mark(slot_named(course.session, WEDNESDAY_AFTERNOON), awa, "absent_unjustified",
                    actor=factories.make_user("admin"), reason="Erreur de saisie")
    db.session.commit()
    base = f"/sessions/{course.session.id}/attestations"
    page = _text(admin_client.post(f"{base}/inscription/{awa.id}/envoyer", follow_redirects=True))
    assert ("Rien n'a été envoyé : les documents d'Awa Diallo ne sont plus à jour (heures suivies) : réémettez-les "
            "d'abord.") in page
    assert outbox == []

    page = _text(admin_client.post(f"{base}/envoyer", follow_redirects=True))
    assert "Documents envoyés par e-mail à 2 stagiaires." in page
    assert "Non envoyés : les documents d'Awa Diallo ne sont plus à jour (heures suivies) : réémettez-les" in page
    assert len(outbox) == 2 and [awa.trainee.email] not in [m.to for m in outbox]
    sent = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "sent")).all()
    assert awa.id not in {db.session.get(IssuedCertificate, e.entity_id).enrolment_id for e in sent}

    certificate_service.issue_for_enrolment(awa, unrecorded_confirmed=True)
    db.session.commit()
    admin_client.post(f"{base}/inscription/{awa.id}/envoyer")
    assert outbox[-1].to == [awa.trainee.email]


def test_nothing_is_emailed_when_every_document_is_outdated(outbox):
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    _issue(course)
    course.session.place = "Ailleurs"
    db.session.commit()
    with pytest.raises(certificate_service.ServiceError) as refused:
        certificate_service.send_for_session(course.session)
    assert refused.value.message == ("Rien n'a été envoyé : les documents d'Awa Diallo, Julien Le Bihan ne sont "
                                     "plus à jour : réémettez-les d'abord.")
    db.session.rollback()
    assert outbox == []


def test_a_job_title_corrected_after_issuing_is_flagged_on_the_session_page_until_reissued(admin_client):
    course = completed_course(trainees=("Awa Diallo", "Julien Le Bihan"))
    _issue(course)
    awa = course.enrolments[0]
    trainee = awa.trainee
    response = admin_client.post(f"/inscriptions/{awa.id}/stagiaire", follow_redirects=True, data={
        "civility": trainee.civility, "first_name": trainee.first_name, "last_name": trainee.last_name,
        "email": trainee.email, "phone": "", "job_title": "Conseillère en insertion", "category": trainee.category,
        "employer_name": "", "employer_siret": "", "version": factories.version_of(trainee)})
    assert "Fiche d'Awa Diallo enregistrée." in _text(response)

    page = _text(admin_client.get(f"/sessions/{course.session.id}"))
    assert page.count('data-testid="outdated-job-title"') == 1 and 'data-testid="outdated-name"' not in page
    assert "les documents indiquent la fonction « Assistante sociale » : fonction corrigée depuis, réémettez" in page
    assert page.count("btn btn-sm btn-warning") == 1  # Awa's « Réémettre » stands out, not Julien's

    admin_client.post(f"/sessions/{course.session.id}/attestations/inscription/{awa.id}/emettre",
                      data={"confirm_unrecorded": "y"})
    page = _text(admin_client.get(f"/sessions/{course.session.id}"))
    assert 'data-testid="outdated-job-title"' not in page and "btn btn-sm btn-warning" not in page
    attestation = certificate_service.current_documents(awa)["attestation"]
    assert attestation.version == 2 and "Fonction | Conseillère en insertion" in docx_text(
        certificate_service.document_bytes(attestation))
