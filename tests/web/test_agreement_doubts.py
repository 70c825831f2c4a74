"""An agreement's page says what looks wrong in what it covers (funding.agreement_doubts), without refusing it: a
trainee whose course no funder pays (« À titre personnel », the employer's own funds), and one whose employer
belongs to another funder than the agreement's (walkthrough: an AKTO agreement for a Uniformation member's
employee, an OPCO agreement for a private person, both accepted without a word)."""
from datetime import datetime

from tests import factories
from tests.factories import frozen_at
from tests.web.test_funding import agreement_form, full_hours, text
from training_app.extensions import db
from training_app.models import ClaimStatus, FundingAgreement, FundingClaim
from training_app.services import funding as funding_service

SELF_FUNDED_LEILA = ("Leïla Haddad est inscrit·e avec le financement « À titre personnel » : aucun financeur ne prend "
                     "sa formation en charge. Corrigez son financement, ou retirez cette personne de l'accord.")


def _doubts(page: str) -> str:
    if 'data-testid="agreement-doubts"' not in page:
        return ""
    return page.split('data-testid="agreement-doubts"')[1].split("</div>")[0]


def test_an_agreement_names_a_self_funded_trainee_and_an_employer_of_another_funder(admin_client, world):
    session, (awa, _sophie, leila) = world["session"], world["enrolments"]
    akto = factories.make_funder("AKTO")
    leila.funding_mode = "personal"
    db.session.commit()
    agreement = factories.make_agreement(session, [awa, leila], funder=akto)
    doubts = _doubts(text(admin_client.get(f"/financement/accords/{agreement.id}")))
    assert ("La structure de Awa Diallo, CCAS de Rennes, adhère à Uniformation, pas à AKTO : vérifiez le financeur "
            "de l'accord, ou celui de la structure.") in doubts
    assert ("Leïla Haddad est inscrit·e avec le financement « À titre personnel » : aucun financeur ne prend sa "
            "formation en charge.") in doubts
    assert doubts.count("<li>") == 3  # Leïla's employer belongs to Uniformation too


def test_an_agreement_of_the_employers_own_funder_for_opco_funded_trainees_raises_no_doubt(admin_client, world):
    session, (awa, sophie, _leila) = world["session"], world["enrolments"]
    for enrolment in (awa, sophie):
        enrolment.funding_mode = "opco"
    db.session.commit()
    agreement = factories.make_agreement(session, [awa, sophie], funder=world["funder"])
    assert funding_service.agreement_doubts(agreement) == []
    assert _doubts(text(admin_client.get(f"/financement/accords/{agreement.id}"))) == ""


def _agreement_of(session, count: int):
    """An agreement of its own funder for `count` trainees, each working for an employer of another funder, one in
    two paying personally: every trainee raises a doubt, every employer's funder is named."""
    agreement_funder = factories.make_funder()
    enrolments = []
    for n in range(count):
        employer = factories.make_employer(funder=factories.make_funder())
        enrolment = factories.make_enrolment(session, factories.make_trainee(employer=employer))
        enrolment.funding_mode = "personal" if n % 2 else "opco"
        enrolments.append(enrolment)
    db.session.commit()
    return factories.make_agreement(session, enrolments, funder=agreement_funder)


def test_an_agreements_doubts_take_as_many_statements_for_six_trainees_as_for_two(world):
    few, many = _agreement_of(world["session"], 2), _agreement_of(world["session"], 6)
    statements = {}
    for agreement in (few, many):
        db.session.expire_all()  # nothing loaded yet, as in a new request
        with factories.count_queries() as run:
            doubts = funding_service.agreement_doubts(agreement)
        statements[len(agreement.trainees)] = len(run)
        assert len(doubts) == len(agreement.trainees) * 3 // 2
    assert statements[2] == statements[6]


def _warnings(page: str) -> list[str]:
    """The flashed warnings (base.html), not the agreement page's own list."""
    return [part.split("</div>")[0] for part in page.split('<div class="alert alert-warning" role="alert">')[1:]]


def test_saving_an_agreement_flashes_its_doubts_as_warnings_and_saves_it_all_the_same(admin_client, world):
    session, (awa, sophie, leila) = world["session"], world["enrolments"]
    for enrolment, mode in ((awa, "opco"), (sophie, "opco"), (leila, "personal")):
        enrolment.funding_mode = mode
    db.session.commit()
    created = admin_client.post(f"/financement/sessions/{session.id}/accords/nouveau",
                                data=agreement_form(world, [awa]), follow_redirects=True)
    assert created.status_code == 200 and "Demande de prise en charge enregistrée." in text(created)
    assert _warnings(text(created)) == []  # Awa's employer belongs to the agreement's funder, an OPCO pays
    agreement = db.session.scalar(db.select(FundingAgreement))
    edited = admin_client.post(f"/financement/accords/{agreement.id}", data=agreement_form(
        world, [awa, leila], version=factories.version_of(agreement)), follow_redirects=True)
    assert edited.status_code == 200 and "Accord enregistré." in text(edited)
    assert _warnings(text(edited)) == [SELF_FUNDED_LEILA]
    db.session.expire_all()
    assert {t.enrolment_id for t in db.session.get(FundingAgreement, agreement.id).trainees} == {awa.id, leila.id}


def test_a_claim_billing_an_agreement_with_doubts_shows_them_without_stopping_its_sending(admin_client, world,
                                                                                         sources):
    session, (awa, sophie, leila) = world["session"], world["enrolments"]
    for enrolment, mode in ((awa, "opco"), (sophie, "opco"), (leila, "personal")):
        enrolment.funding_mode = mode
    db.session.commit()
    agreement = factories.make_agreement(session, [awa, sophie, leila], funder=world["funder"],
                                         file_number="UNI-100", employer=world["employer"])
    sources["hours"] = full_hours([awa, sophie, leila])
    with frozen_at(datetime(2019, 1, 10, 10)):
        claim = funding_service.create_claim(world["funder"], session=session)
        db.session.commit()
        assert funding_service.preflight(claim) == []
        page = text(admin_client.get(f"/financement/demandes/{claim.id}"))
        doubts = page.split('data-testid="claim-doubts"')[1].split("</ul>")[0]
        assert SELF_FUNDED_LEILA in doubts and doubts.count("<li") == 1
        assert f'href="/financement/accords/{agreement.id}"' in doubts
        assert "Rien n'empêche l'envoi du dossier." in page and "complet et cohérent" not in page
        send_form = page.split('data-testid="send-form"')[1].split("</form>")[0]
        assert "disabled" not in send_form
        assert admin_client.post(f"/financement/demandes/{claim.id}/envoyer",
                                 data={"sent_on": "2019-01-10"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(FundingClaim, claim.id).status == ClaimStatus.SENT


def test_a_claims_doubts_take_as_many_statements_for_three_agreements_as_for_one(world):
    """claim_doubts reads the doubts of every agreement the claim bills at once (agreements_doubts)."""
    session, enrolments = world["session"], world["enrolments"]
    for enrolment in enrolments:
        enrolment.funding_mode = "personal"
    db.session.commit()
    factories.make_agreement(session, enrolments[:1], funder=world["funder"])
    claim = factories.make_claim(world["funder"], session)
    statements = {}
    for billed in (1, 3):
        if billed == 3:
            for enrolment in enrolments[1:]:
                factories.make_agreement(session, [enrolment], funder=world["funder"])
        db.session.expire_all()  # nothing loaded yet, as in a new request
        with factories.count_queries() as run:
            doubts = funding_service.claim_doubts(claim)
        assert len(doubts) == billed and len({problem.values["agreement_id"] for problem in doubts}) == billed
        statements[billed] = len(run)
    assert statements[1] == statements[3]
