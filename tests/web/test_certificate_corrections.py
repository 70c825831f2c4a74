"""Certificates after a correction, through the web: withdrawn when no attendance is left, flagged when a
result changed."""
from tests import factories
from tests.certificate_course import assess, completed_course, corrected_to_no_attendance
from training_app.extensions import db
from training_app.services import attendance
from training_app.services import certificates as certificate_service


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def test_documents_withdrawn_after_attendance_corrected_to_none_are_no_longer_valid_anywhere(admin_client):
    course, sophie, _slot, _admin, issued = corrected_to_no_attendance()
    page = _text(admin_client.get(f"/sessions/{course.session.id}"))
    assert "les documents disent 4 h : feuilles corrigées depuis, plus aucune présence ; réémettre les retire" in page

    page = _text(admin_client.post(f"/sessions/{course.session.id}/attestations/emettre",
                                   data={"reissue": "y", "confirm_unrecorded": "y"}, follow_redirects=True))
    assert "Documents retirés (plus aucune présence après correction des feuilles)" in page
    assert f"n° {issued['attestation'].number} (retiré)" in page
    assert "documents retirés le" in page and 'data-testid="outdated"' not in page
    history = _text(admin_client.get(f"/sessions/{course.session.id}/attestations"))
    assert history.count("retiré le") == 2 and "aucune demi-journée suivie" in history

    verify = _text(admin_client.get(f"/verify/{issued['realisation'].verification_code}"))
    assert "Document valide" not in verify and "n'est plus valable" in verify
    home = _text(admin_client.get(factories.personal_path(sophie.trainee)))
    assert "Du dialogue à la négociation" in home and issued["realisation"].number not in home
    # her e-mail's link to it says so (and serves nothing)
    old_link = admin_client.get(factories.personal_path(sophie.trainee, "certificates.trainee_download",
                                                        certificate_id=issued["realisation"].id), follow_redirects=True)
    assert old_link.status_code == 200 and old_link.mimetype == "text/html"
    assert (f"Ce document (Certificat de réalisation n° {issued['realisation'].number}) a été retiré le "
            in _text(old_link)) and "il n'est plus valable" in _text(old_link)


def test_issuing_without_reissuing_names_the_documents_still_valid_of_a_trainee_left_with_no_attendance(
        admin_client):
    course, sophie, slot, admin, issued = corrected_to_no_attendance()
    awa = course.enrolments[0]
    attendance.mark(slot, awa, "absent_justified", actor=admin, reason="Erreur", justification="Arrêt maladie")
    db.session.commit()
    page = _text(admin_client.post(f"/sessions/{course.session.id}/attestations/emettre",
                                   data={"confirm_unrecorded": "y"}, follow_redirects=True))
    assert "Rien à émettre : 2 stagiaires ont déjà leurs documents." in page and "de chaque stagiaire" not in page
    assert ("Les documents de Sophie Renaud restent valides alors que les feuilles corrigées ne comptent plus aucune "
            "présence : réémettez-les pour les retirer.") in page
    assert "Les documents d'Awa Diallo, déjà émis, ne sont plus à jour (heures suivies) : réémettez-les." in page
    assert "Sans présence" not in page  # she has documents: they are what needs doing
    assert all(doc.is_current for doc in issued.values())  # kept, like every outdated document, until reissued


def test_a_result_corrected_after_issuing_is_flagged_on_the_session_page(admin_client):
    course = completed_course(trainees=("Awa Diallo",))
    certificate_service.issue_for_session(course.session, unrecorded_confirmed=True)
    db.session.commit()
    assert 'data-testid="outdated-results"' not in _text(admin_client.get(f"/sessions/{course.session.id}"))
    assess(course, course.enrolments[0], {3: ("not_acquired", "")})
    page = _text(admin_client.get(f"/sessions/{course.session.id}"))
    assert "l'attestation indique d'autres résultats par objectif que ceux enregistrés depuis : réémettez" in page
