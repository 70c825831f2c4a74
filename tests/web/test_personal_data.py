"""The trainee's page: "Exporter ses données" and "Effacer ses données" (administrators only)."""
import html
import json
import re
from datetime import datetime

import pytest

from tests import certificate_course, factories
from tests.unit.test_personal_data import ENGLISH_KEYS, _keys
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AuditEntry, Trainee


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(response.get_data(as_text=True))))


def _rows():
    with db.engine.connect() as conn:
        return {table.name: sorted(map(tuple, conn.execute(table.select())), key=repr)
                for table in db.metadata.sorted_tables if table.name != "data_version"}


def _page(enrolment) -> str:
    return f"/inscriptions/{enrolment.id}/stagiaire"


def _attended():
    """Élodie attended the completed December 2018 course: her attendance is kept."""
    course = certificate_course.completed_course(trainees=("Élodie Le Goff", "Julien Le Bihan"))
    enrolment = course.enrolments[0]
    enrolment.trainee.phone = "06 12 34 56 78"
    db.session.commit()
    return enrolment


def test_the_export_downloads_as_indented_utf8_json(admin_client):
    enrolment = _attended()
    trainee = enrolment.trainee
    page = _text(admin_client.get(_page(enrolment)))
    assert "Exporter ses données" in page and "Effacer ses données" in page
    response = admin_client.get(f"/stagiaires/{trainee.id}/donnees.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="donnees-{trainee.id}.json"'
    raw = response.get_data()
    assert "Élodie".encode() in raw and b'\n  "personne": {' in raw  # UTF-8 as it is, indented
    data = json.loads(raw.decode("utf-8"))
    assert data["personne"]["prenom"] == "Élodie" and data["personne"]["telephone"] == "06 12 34 56 78"
    assert len(data["inscriptions"][0]["emargement"]) == 6


@pytest.mark.parametrize("who", ["trainer", "trainee", "anonymous"])
def test_only_administrators_export_or_erase(app, trainer_client, who):
    enrolment = _attended()
    trainee = enrolment.trainee
    if who == "trainer":
        client = trainer_client
    else:
        client = app.test_client()
        if who == "trainee":
            assert client.get(factories.personal_path(trainee)).status_code == 200
    for response in (client.get(f"/stagiaires/{trainee.id}/donnees.json"),
                     client.post(f"/stagiaires/{trainee.id}/effacer", data={"reason": "x", "confirm": "y"})):
        if who == "trainer":
            assert response.status_code == 403
        else:
            assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    db.session.expire_all()
    assert db.session.get(Trainee, trainee.id).erased_at is None


@pytest.mark.parametrize("data, message", [
    ({"reason": "", "confirm": "y"}, "Indiquez le motif de l'effacement"),
    ({"reason": "   ", "confirm": "y"}, "Indiquez le motif de l'effacement"),
    ({"reason": "Demande de la personne"}, "Cochez la case pour confirmer l'effacement"),
    ({"reason": "x" * 501, "confirm": "y"}, "Le motif dépasse 500 caractères"),
])
def test_a_missing_reason_or_confirmation_erases_nothing(admin_client, data, message):
    enrolment = _attended()
    before = _rows()
    response = admin_client.post(f"/stagiaires/{enrolment.trainee_id}/effacer", data=data)
    assert response.status_code == 200 and message in _text(response)
    assert _rows() == before


def test_a_live_upcoming_enrolment_is_refused_with_a_french_message(admin_client):
    trainee = factories.make_trainee("Awa", "Diallo")
    enrolment = factories.enrol(factories.make_session(start=datetime(2030, 3, 5, 14, 0)), trainee)
    before = _rows()
    response = admin_client.post(f"/stagiaires/{trainee.id}/effacer",
                                 data={"reason": "Demande", "confirm": "y"}, follow_redirects=True)
    text = _text(response)
    assert "Awa Diallo a une inscription en cours" in text and "annulez-la d'abord" in text
    assert "Modifier la fiche de Mme Awa DIALLO" in text  # back on her page
    assert _rows() == before and enrolment.id


def test_a_live_enrolment_s_refusal_is_told_before_the_reason_is_typed(admin_client):
    trainee = factories.make_trainee("Awa", "Diallo")
    enrolment = factories.enrol(factories.make_session(start=datetime(2030, 3, 5, 14, 0)), trainee)
    page = admin_client.get(_page(enrolment)).get_data(as_text=True)
    text = _text(admin_client.get(_page(enrolment)))
    assert ("Effacement impossible pour l'instant : Awa Diallo a une inscription en cours (session du mardi 5 mars "
            "2030) : annulez-la d'abord, puis effacez ses données.") in text
    assert 'data-testid="erase-form"' not in page and "Exporter ses données" in text


def test_the_enrolment_page_leads_to_the_personal_data_section(admin_client):
    enrolment = _attended()
    page = admin_client.get(f"/inscriptions/{enrolment.id}").get_data(as_text=True)
    assert f'href="{_page(enrolment)}#donnees-personnelles"' in page and "Données personnelles (export, effacement)" in page
    assert 'id="donnees-personnelles"' in admin_client.get(_page(enrolment)).get_data(as_text=True)


def test_a_person_who_never_attended_is_not_told_records_are_kept_until_a_date(admin_client):
    """Cancelled before a session now over: nothing is kept, the erasure deletes her entirely; the page says so
    instead of « jusqu'au <date> »."""
    trainee = factories.make_trainee("Awa", "Diallo")
    enrolment = factories.make_enrolment(factories.make_session(start=datetime(2024, 3, 5, 14, 0),
                                                                end=datetime(2024, 3, 8, 12, 30)), trainee,
                                         status="cancelled")
    text = _text(admin_client.get(_page(enrolment)))
    assert "À ce jour, aucune de ces pièces n'existe pour cette personne : l'effacement la supprimerait entièrement." in text
    assert "À ce jour : jusqu'au" not in text and 'data-testid="erase-form"' in admin_client.get(_page(enrolment)).get_data(as_text=True)
    attended = _attended()
    text = _text(admin_client.get(_page(attended)))
    assert "aucune de ces pièces" not in text


def test_erasure_keeps_the_records_and_the_page_says_so(app, admin_client, outbox):
    enrolment = _attended()
    trainee = enrolment.trainee
    email, link = trainee.email, factories.personal_path(trainee)
    with frozen_at(datetime(2020, 3, 3, 10, 0)):  # during the retention period
        response = admin_client.post(f"/stagiaires/{trainee.id}/effacer",
                                     data={"reason": "Demande écrite du 2 mars", "confirm": "y"})
        assert response.status_code == 302 and response.headers["Location"].endswith(_page(enrolment))
        text = _text(admin_client.get(response.headers["Location"]))
    assert "Les données d'Élodie Le Goff sont effacées" in text
    assert "Conservés, car les documents obligatoires les impriment" in text and "feuilles d'émargement (6)" in text
    assert "Données effacées le" in text and email not in text and "06 12 34 56 78" not in text
    # The course ended on 14 December 2018: the records are kept six years from then.
    assert "rendues anonymes, et leurs fichiers supprimés, à partir du 14 décembre 2024" in text
    assert "conservés jusqu'au 14 décembre 2024 (6 ans après la fin de sa dernière session" in text
    assert 'name="email"' not in admin_client.get(_page(enrolment)).get_data(as_text=True)
    detail = _text(admin_client.get(f"/inscriptions/{enrolment.id}"))
    assert "Données effacées le" in detail and email not in detail and "06 12 34 56 78" not in detail
    old_link = app.test_client().get(link)
    assert old_link.status_code == 403
    assert "Les données personnelles liées à ce lien ont été effacées" in _text(old_link)
    assert "Un nouveau lien a alors été envoyé" not in _text(old_link)  # nothing is sent to an erased person
    assert "Recevoir un nouveau lien" not in _text(old_link)
    [entry] = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "personal_data_erased")).all()
    assert (entry.reason, entry.actor_label) == ("Demande écrite du 2 mars", "Alice Admin")
    # The form is gone; a second erasure is refused.
    again = admin_client.post(f"/stagiaires/{trainee.id}/effacer", data={"reason": "Encore", "confirm": "y"},
                              follow_redirects=True)
    assert "ont déjà été effacées" in _text(again)


def test_once_the_retention_period_is_over_the_page_says_the_records_are_due_for_anonymisation(app, admin_client):
    """The course ended on 14 December 2018: six years later the records are no longer kept « until » a past day,
    they wait for `flask purge-expired`."""
    from click.testing import CliRunner
    enrolment = _attended()
    trainee = enrolment.trainee
    # The page says it is over when the purge takes them: on the day itself, not yet (purge_plan), the day after.
    for day, over in ((13, False), (14, False), (15, True)):
        with frozen_at(datetime(2024, 12, day, 10, 0)):
            text = _text(admin_client.get(f"/stagiaires/{trainee.id}/effacer"))
            assert ("À ce jour : jusqu'au 14 décembre 2024." in text) is not over, day
            assert ("a pris fin le 14 décembre 2024" in text) is over, day
            planned = CliRunner().invoke(app.cli, ["purge-expired", "--dry-run"], catch_exceptions=False).output
            assert (f"n° {trainee.id} {trainee.full_name}" in planned) is over, day
    with frozen_at(datetime(2026, 11, 25, 10, 0)):
        text = _text(admin_client.get(f"/stagiaires/{trainee.id}/effacer"))
        assert "jusqu'au 14 décembre 2024" not in text
        assert ("Pour cette personne, la durée a pris fin le 14 décembre 2024 : ses données sont à effacer et ces "
                "pièces à rendre anonymes. La purge automatique s'en charge à son prochain passage.") in text
        response = admin_client.post(f"/stagiaires/{trainee.id}/effacer", data={"reason": "Demande", "confirm": "y"},
                                     follow_redirects=True)
        text = _text(response)
        assert "La durée de conservation de ces pièces a pris fin le 14 décembre 2024 : elles sont à rendre " \
               "anonymes, et leurs fichiers à supprimer. La purge automatique" in text
        assert "seront rendues anonymes" not in text and "conservés jusqu'au" not in text
        assert "a pris fin le 14 décembre 2024 : ils sont à rendre anonymes, et les fichiers à supprimer." in text
        output = CliRunner().invoke(app.cli, ["purge-expired"], catch_exceptions=False).output
    assert "rendues anonymes" in output
    text = _text(admin_client.get(_page(enrolment)))
    assert "Pièces conservées rendues anonymes le" in text and "a pris fin" not in text


def test_a_person_without_records_is_deleted_and_the_flash_says_so(admin_client):
    trainee = factories.make_trainee("Awa", "Diallo")
    enrolment = factories.make_enrolment(factories.make_session(), trainee, status="cancelled")
    trainee_id, page = trainee.id, _page(enrolment)
    response = admin_client.post(f"/stagiaires/{trainee_id}/effacer",
                                 data={"reason": "Demande", "confirm": "y"}, follow_redirects=True)
    assert "la personne a été supprimée entièrement" in _text(response)
    db.session.expire_all()
    assert db.session.get(Trainee, trainee_id) is None
    assert admin_client.get(page).status_code == 404


def test_once_the_records_expired_the_pages_say_so_and_name_nobody(app, admin_client, client):
    """After `flask purge-expired` at the end of the retention period: her page, the sheets, the certificates'
    downloads and the public verification page."""
    from click.testing import CliRunner

    from training_app.models import IssuedCertificate, Signature
    from training_app.services import certificates as certificate_service
    enrolment = _attended()
    certificate_service.issue_for_session(enrolment.session, unrecorded_confirmed=True)
    db.session.commit()
    doc = certificate_service.current_documents(enrolment)["attestation"]
    session_id, slot_id = enrolment.session_id, enrolment.session.slots[0].id
    signature_id = db.session.scalar(db.select(Signature.id).where(Signature.enrolment_id == enrolment.id).limit(1))
    assert client.get(f"/verifier/{doc.verification_code}").status_code == 200
    assert "Élodie" in _text(client.get(f"/verifier/{doc.verification_code}"))
    with frozen_at(datetime(2025, 1, 15, 10, 0)):
        output = CliRunner().invoke(app.cli, ["purge-expired"], catch_exceptions=False).output
    assert "rendues anonymes" in output
    page = _text(admin_client.get(_page(enrolment)))
    assert "Pièces conservées rendues anonymes le" in page and "au terme de leur durée de conservation" in page
    assert "Élodie" not in page and "Le Goff" not in page
    verify = client.get(f"/verifier/{doc.verification_code}")
    text = _text(verify)
    assert verify.status_code == 200 and "ont été supprimées le 15 janvier 2025, au terme de leur durée de conservation" in text
    assert doc.number in text and "Élodie" not in text and "Goff" not in text
    download = admin_client.get(f"/sessions/{session_id}/attestations/{doc.id}/telecharger", follow_redirects=True)
    assert download.status_code == 200 and "ont été supprimés le 15 janvier 2025" in _text(download)
    archive = admin_client.get(f"/sessions/{session_id}/attestations.zip", follow_redirects=True)
    assert archive.status_code == 200 and "ont été supprimés le 15 janvier 2025" in _text(archive)
    sheet = admin_client.get(f"/sessions/{session_id}/emargement/{slot_id}")
    assert sheet.status_code == 200 and "Image de la signature supprimée" in _text(sheet)
    assert "Le Goff" not in _text(sheet)
    assert admin_client.get(f"/sessions/{session_id}/emargement/signatures/{signature_id}.png").status_code == 404
    assert db.session.get(IssuedCertificate, doc.id).number == doc.number


def test_a_sheets_scan_and_a_claims_dossier_go_with_the_last_person_they_print(app, admin, admin_client):
    """Élodie's records expire in 2025, Julien's (back in 2024) in 2030: the paper scan of a sheet printing both,
    and the dossier sent to the funder for both, stay until his expire."""
    import io as _io
    from datetime import date

    from click.testing import CliRunner
    from werkzeug.datastructures import FileStorage

    from training_app.documents import storage
    from training_app.services import attendance
    from training_app.services import funding as funding_service
    course = certificate_course.completed_course(trainees=("Élodie Le Goff", "Julien Le Bihan"))
    elodie, julien = course.enrolments
    factories.make_enrolment(factories.make_session(start=datetime(2024, 3, 5, 14, 0), end=datetime(2024, 3, 8, 12, 30),
                                                    status="completed"), julien.trainee)
    slot = course.session.slots[0]
    with frozen_at(datetime(2018, 12, 20, 10, 0)):
        sheet = attendance.attach_scan(slot, FileStorage(_io.BytesIO(b"%PDF-1.4 la feuille papier"),
                                                         filename="feuille.pdf"), admin)
        db.session.commit()
    scan = sheet.scan_path
    funder = factories.make_funder("Uniformation")
    factories.make_agreement(course.session, [elodie, julien], funder=funder)
    claim = factories.make_claim(funder, course.session, status="sent")
    claim.sent_on = date(2019, 1, 10)
    funding_service.bundle_bytes(claim)  # stored at its first download
    db.session.commit()
    dossier, claim_id = claim.dossier_path, claim.id
    scan_url = f"/sessions/{course.session.id}/emargement/{slot.id}/scan"
    for when, gone in ((datetime(2025, 1, 15, 10, 0), False), (datetime(2030, 3, 15, 10, 0), True)):
        with frozen_at(when):
            CliRunner().invoke(app.cli, ["purge-expired"], catch_exceptions=False)
        assert storage.exists(scan) is not gone and storage.exists(dossier) is not gone
    db.session.expire_all()
    assert all(t.records_expired_at for t in (elodie.trainee, julien.trainee))
    response = admin_client.get(scan_url, follow_redirects=True)
    assert response.status_code == 200 and "Le scan de cette feuille a été supprimé" in _text(response)
    response = admin_client.get(f"/financement/demandes/{claim_id}/dossier.zip", follow_redirects=True)
    assert response.status_code == 200 and "Le dossier envoyé a été supprimé" in _text(response)


def test_the_export_of_the_demos_trainee_names_every_key_in_french(admin_client):
    """Karim Benali of the demo (signatures, a justified absence, a funding line with its annex costs), whose details
    the office corrected, whose funding was recorded and whose links were revoked: the export downloaded has no
    English key, in the audit entries' details as elsewhere, and keeps their values."""
    from training_app import demo
    from training_app.demo.attendance import ABSENT_EMAIL
    from training_app.services import enrolments as enrolment_service
    from training_app.services import registrations, trainee_links
    from training_app.services.registrations import PersonDetails
    demo.seed()
    db.session.commit()
    karim = db.session.scalar(db.select(Trainee).where(Trainee.email == ABSENT_EMAIL))
    admin = factories.make_user("admin")
    registrations.update_trainee(karim, PersonDetails(
        civility=karim.civility, first_name=karim.first_name, last_name=karim.last_name, email=karim.email,
        phone="06 98 76 54 32", job_title=karim.job_title, category=karim.category,
        employer_name=karim.employer.name if karim.employer else "",
        employer_siret=karim.employer.siret if karim.employer else ""), actor=admin)
    enrolment = db.session.scalars(db.select(factories.Enrolment).where(
        factories.Enrolment.trainee_id == karim.id).order_by(factories.Enrolment.id)).first()
    enrolment_service.set_funding_mode(enrolment, "personal" if enrolment.funding_mode != "personal" else "other",
                                       actor=admin)
    trainee_links.revoke_links(karim, actor=admin, reason="Téléphone perdu", enrolment_id=enrolment.id)
    db.session.commit()
    response = admin_client.get(f"/stagiaires/{karim.id}/donnees.json")
    assert response.status_code == 200
    data = json.loads(response.get_data(as_text=True))
    assert not _keys(data) & ENGLISH_KEYS
    [revoked] = [e for e in data["historique_de_la_fiche"] if e["action"] == "Liens personnels révoqués"]
    assert revoked["details"] == {"version_des_liens_personnels": [1, 2], "inscription_id": enrolment.id}
    [changed] = [e for e in data["historique_de_la_fiche"] if e["action"] == "Coordonnées modifiées"]
    assert changed["details"]["modifications"]["telephone"][1] == "06 98 76 54 32"
    sheets = [e["details"] for i in data["inscriptions"] for e in i["historique_emargement"]]
    assert sheets and all(d["stagiaire"] == "Karim Benali" for d in sheets)
    annex = [f["frais_annexes_centimes"] for i in data["inscriptions"] for f in i["financements"]]
    assert annex and all(set(costs) == {"transport", "hébergement", "repas"} for costs in annex)
