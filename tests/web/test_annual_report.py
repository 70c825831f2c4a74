"""The Bilan annuel page and its workbook (administrators), and `flask annual-report`."""
import io
import re
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from tests import factories
from tests.unit.test_annual_report import _mark, _set
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AuditEntry, Enrolment


@pytest.fixture
def year_2030():
    """A completed session of March 2030: three trainees (an employee, a job seeker absent Wednesday
    morning, a withdrawn individual who left on Thursday), an employer-paid and a personal enrolment."""
    trainer = factories.make_user("trainer", name="Tom Trainer")
    session, (employee, job_seeker, individual) = factories.make_attendance_session(
        trainees=3, trainers=[trainer], programme=factories.make_programme(title="Du dialogue à la négociation"))
    _set(employee, funding_mode="employer", price_cents=84000)
    _set(job_seeker.trainee, category="job_seeker")
    _set(job_seeker, funding_mode="other", price_cents=60000)
    _set(individual.trainee, category="individual", employer=None)
    _mark(session, trainer, {(job_seeker.id, 1): ("absent_unjustified", {})})
    _set(individual, status="withdrawn", withdrawn_on=date(2030, 3, 8), funding_mode="personal", price_cents=45000)
    _set(session, status="completed")
    return session


def _cells(page: str, testid: str) -> list[str]:
    row = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</tr>', page, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


def test_the_administrator_sees_the_year_s_figures(admin_client, year_2030):
    response = admin_client.get("/rapports/bilan?annee=2030")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Bilan pédagogique et financier 2030" in page
    assert _cells(page, "category-employee") == ["Salarié·es d&#39;employeurs privés ou publics", "1", "21 h"]
    assert _cells(page, "category-job_seeker") == ["Demandeur·euses d&#39;emploi", "1", "18 h"]
    assert _cells(page, "category-individual") == ["Particuliers à leurs propres frais", "1", "21 h"]
    assert _cells(page, "category-total") == ["Total", "3", "60 h"]
    assert _cells(page, "programme-row") == ["Du dialogue à la négociation", "1", "3", "60 h"]
    assert _cells(page, "revenue-employer")[1] == "840,00\u202f€"
    assert _cells(page, "revenue-other")[1] == "600,00\u202f€"
    assert _cells(page, "revenue-personal")[1] == "450,00\u202f€"  # withdrawn after attending: still billed
    assert _cells(page, "revenue-total")[1] == "1\u202f890,00\u202f€"
    assert "1 personne, 21 h de formation dispensées" in page
    assert "demi-journée tenue, c'est-à-dire dont la feuille d'émargement est close ou porte des présences" in page
    assert "Taux d&#39;achèvement</th><td class=\"text-end\">67\u202f%" in page  # never 67 at a line's end
    assert "Taux d&#39;abandon</th><td class=\"text-end\">33\u202f%" in page
    assert not re.search(r"\d[ \u00a0](%|€)", page)  # every rate and amount through formatting
    assert "une session à cheval sur deux années est partagée entre elles" in page
    assert "chaque inscription facturée (confirmée, ou abandon en cours de formation) compte une fois" in page
    # the rules of the counts and of the revenue, said on the page
    assert "une personne inscrite à deux sessions compte deux fois" in page
    assert "chaque tableau a le même total, somme de ses lignes" in page
    assert "terminées ou à venir d'ici le 31 décembre" in page and "au prix fixé à l'inscription" in page
    assert "en subrogation : sa ligne va à l'OPCO, frais annexes (transport, repas) compris" in page
    assert "frais annexes compris, qui sont les siens et non des produits de l'organisme" in page
    assert 'href="/rapports/bilan.xlsx?annee=2030"' in page


def test_the_page_and_the_workbook_give_the_f3_and_f4_tables(admin_client, year_2030):
    other = factories.make_programme(title="Relations", bpf_objective="e", nsf_code="413", nsf_label="=Relations")
    trainer = factories.make_user("trainer")
    session, _enrolments = factories.make_attendance_session(
        trainees=2, trainers=[trainer], programme=other, start=datetime(2030, 4, 2, 14, 0),
        end=datetime(2030, 4, 5, 12, 30))
    _mark(session, trainer)
    unknown = factories.make_programme(title="Sans code")
    session, _enrolments = factories.make_attendance_session(
        trainees=1, trainers=[trainer], programme=unknown, start=datetime(2030, 5, 7, 14, 0),
        end=datetime(2030, 5, 10, 12, 30))
    _mark(session, trainer)
    db.session.get(type(unknown), year_2030.programme_id).nsf_code = "332"
    db.session.get(type(unknown), year_2030.programme_id).nsf_label = "Travail social"
    db.session.commit()

    page = admin_client.get("/rapports/bilan?annee=2030").get_data(as_text=True)

    assert "Par objectif (F-3)" in page and "Par spécialité (F-4)" in page
    assert _cells(page, "objective-d") == ["d) Autres formations professionnelles", "4", "81 h"]
    assert _cells(page, "objective-e") == ["e) Bilans de compétences", "2", "42 h"]
    assert _cells(page, "objective-total") == ["Total", "6", "123 h"]
    assert _cells(page, "speciality-332") == ["332", "Travail social", "3", "60 h"]
    assert _cells(page, "speciality-413") == ["413", "=Relations", "2", "42 h"]
    assert _cells(page, "speciality-none") == ["", "Spécialité non renseignée", "1", "21 h"]
    assert _cells(page, "speciality-total") == ["Total", "6", "123 h"]
    assert "renseignez leur spécialité de formation dans le catalogue" in page

    workbook = load_workbook(io.BytesIO(admin_client.get("/rapports/bilan.xlsx?annee=2030").data))
    rows = [[cell.value for cell in row] for row in workbook["Spécialités"].iter_rows(min_row=4)]
    assert rows == [["332", "Travail social", 3, 60], ["413", "=Relations", 2, 42],
                    [None, "Spécialité non renseignée", 1, 21], [None, "Total", 6, 123]]
    assert workbook["Spécialités"]["B5"].data_type == "s"  # text, never a formula
    assert workbook["Spécialités"]["D4"].number_format == "0.00"
    objectives = [[cell.value for cell in row] for row in workbook["Objectifs"].iter_rows(min_row=4)]
    assert objectives == [["d) Autres formations professionnelles", 4, 81], ["e) Bilans de compétences", 2, 42],
                          ["Total", 6, 123]]


def test_without_a_programme_lacking_its_code_the_page_does_not_ask_to_fill_it(admin_client, year_2030):
    db.session.get(type(year_2030.programme), year_2030.programme_id).nsf_code = "332"
    db.session.commit()
    page = admin_client.get("/rapports/bilan?annee=2030").get_data(as_text=True)
    assert _cells(page, "speciality-332") == ["332", "", "3", "60 h"]
    assert "Spécialité non renseignée" not in page and "renseignez leur spécialité" not in page


def test_the_page_shows_last_year_by_default_and_offers_the_years_with_sessions(admin_client, year_2030):
    factories.make_session(start=datetime(2027, 3, 2, 14, 0), end=datetime(2027, 3, 5, 12, 30))
    with frozen_at(datetime(2031, 4, 15, 10, 0)):
        page = admin_client.get("/rapports/bilan").get_data(as_text=True)

    assert "Bilan pédagogique et financier 2030" in page
    assert re.findall(r'<option value="(\d+)"( selected)?>', page) == [("2030", " selected"), ("2027", "")]


def test_without_sessions_last_year_the_page_opens_on_the_latest_year_before_it_that_has_some(admin_client, year_2030):
    factories.make_session(start=datetime(2033, 3, 1, 14, 0), end=datetime(2033, 3, 4, 12, 30))  # ahead: not due
    factories.make_session(start=datetime(2031, 3, 4, 14, 0), end=datetime(2031, 3, 7, 12, 30), status="cancelled")
    with frozen_at(datetime(2033, 1, 10, 10, 0)):
        page = admin_client.get("/rapports/bilan").get_data(as_text=True)

    assert "Bilan pédagogique et financier 2030" in page
    assert ("2030", " selected") in re.findall(r'<option value="(\d+)"( selected)?>', page)
    assert ("2031", "") in re.findall(r'<option value="(\d+)"( selected)?>', page)  # offered, not chosen


def test_the_workbook_gives_the_figures_of_the_page(admin_client, year_2030):
    page = admin_client.get("/rapports/bilan?annee=2030").get_data(as_text=True)
    response = admin_client.get("/rapports/bilan.xlsx?annee=2030")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=bilan-2030.xlsx"
    workbook = load_workbook(io.BytesIO(response.data))
    trainees = workbook["Stagiaires"]
    rows = {trainees.cell(r, 1).value: (trainees.cell(r, 2).value, trainees.cell(r, 3).value) for r in range(4, 9)}
    assert rows["Total"] == (int(_cells(page, "category-total")[1]), 60)
    assert rows["Demandeur·euses d'emploi"] == (1, 18)
    programmes = workbook["Formations"]
    assert [c.value for c in programmes[4]] == ["Du dialogue à la négociation", 1, 3, 60]
    revenue = {row[0].value: row[1].value for row in workbook["Produits"].iter_rows(min_row=4)}
    assert revenue["Total"] == 1890 and revenue["Autres financeurs (France Travail, CPF…)"] == 600
    assert workbook["Formateurs"]["B4"].value == 1 and workbook["Formateurs"]["C4"].value == 21
    cells = {row[0].value: row[1] for row in workbook["Indicateurs"].iter_rows(min_row=4)}
    indicators = {label: cell.value for label, cell in cells.items()}
    # rates are numbers shown as percents, not text
    assert indicators["Taux d'achèvement"] == pytest.approx(0.67) and indicators["Taux d'abandon"] == pytest.approx(0.33)
    assert cells["Taux d'achèvement"].data_type == "n" and cells["Taux d'achèvement"].number_format == "0%"
    assert indicators["Taux de satisfaction (notes de 4 ou 5 sur 5)"] == "—"  # no questionnaire
    assert indicators["Sessions annulées"] == 0
    assert indicators["Stagiaires confirmé·es jamais venu·es (hors taux)"] == 0
    assert "n'est jamais venu·e : ni allé·e au bout ni en abandon" in page  # the rule, on the page


@pytest.mark.parametrize("year", ["abc", "0", "99999", "", "2030abc", "-5", "1e3", "²", pytest.param("1" * 5000, id="5000-digits")])
@pytest.mark.parametrize("path", ["/rapports/bilan", "/rapports/bilan.xlsx"])
def test_a_bad_year_gets_a_french_message_and_writes_nothing(admin_client, year_2030, path, year):
    audits = db.session.scalar(db.select(db.func.count(AuditEntry.id)))

    response = admin_client.get(path, query_string={"annee": year})

    page = response.get_data(as_text=True)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "Indiquez une année entre 2000 et 2100" in page and '<html lang="fr">' in page
    assert 'name="annee"' in page  # the year selector, to choose again
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id))) == audits
    assert db.session.scalar(db.select(db.func.count(Enrolment.id))) == 3


def test_the_menu_shows_the_report_to_administrators_only(admin_client, trainer_client):
    assert 'href="/rapports/bilan">Bilan annuel</a>' in admin_client.get("/").get_data(as_text=True)
    assert "Bilan annuel" not in trainer_client.get("/").get_data(as_text=True)


def test_the_command_writes_the_workbook(app, year_2030, tmp_path):
    out = tmp_path / "bilan.xlsx"

    result = app.test_cli_runner().invoke(args=["annual-report", "2030", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert "Bilan 2030 : 3 stagiaires, 60 h suivies" in result.output
    assert load_workbook(out)["Stagiaires"]["C8"].value == 60
    refused = app.test_cli_runner().invoke(args=["annual-report", "deux-mille", "--out", str(out)])
    assert refused.exit_code != 0 and "Indiquez une année entre 2000 et 2100" in refused.output


def test_the_command_refuses_a_file_in_a_missing_folder_in_french_without_a_traceback(app, year_2030, tmp_path):
    out = tmp_path / "absent" / "bilan.xlsx"

    result = app.test_cli_runner().invoke(args=["annual-report", "2030", "--out", str(out)])

    assert result.exit_code == 1 and not isinstance(result.exception, OSError)
    assert "Impossible d'écrire le classeur" in result.output and "Traceback" not in result.output


def test_the_page_runs_the_same_number_of_statements_for_1_and_5_sessions(admin_client):
    from tests.unit.test_annual_report import _year_with_sessions
    _year_with_sessions(1, 2030)
    _year_with_sessions(5, 2032)
    counts = [factories.rendered_page_queries(admin_client, f"/rapports/bilan?annee={year}") for year in (2030, 2032)]
    assert counts[0] == counts[1], counts


def test_the_page_and_the_workbook_point_out_unpriced_enrolments_and_sessions_nobody_attended(admin_client,
                                                                                              year_2030):
    employee = db.session.scalar(db.select(Enrolment).where(Enrolment.funding_mode == "employer"))
    _set(employee, price_cents=None)  # "sur demande"
    empty = factories.make_session(programme=factories.make_programme(title="Personne n'est venu"),
                                   start=datetime(2030, 5, 7, 14, 0), end=datetime(2030, 5, 10, 12, 30))
    _set(factories.make_enrolment(empty), funding_mode="employer", price_cents=84000)

    with frozen_at(datetime(2031, 2, 1, 10, 0)):
        page = admin_client.get("/rapports/bilan?annee=2030").get_data(as_text=True)
        workbook = load_workbook(io.BytesIO(admin_client.get("/rapports/bilan.xlsx?annee=2030").data))

    unpriced = re.search(r'data-testid="unpriced">(.*?)</div>', page, re.S).group(1)
    assert "1 inscription facturée n&#39;a pas de prix (« sur demande ») : elle compte pour 0,00\u202f€" in unpriced
    assert f'href="/sessions/{year_2030.id}">Du dialogue à la négociation, session du 5 mars 2030 (1 inscription)' \
        in unpriced
    unattended = re.search(r'data-testid="unattended">(.*?)</div>', page, re.S).group(1)
    assert "1 session terminée sans personne présente n&#39;est pas comptée" in unattended
    assert f'href="/sessions/{empty.id}">Personne n&#39;est venu, session du 7 mai 2030</a>' in unattended
    assert _cells(page, "revenue-total")[1] == "1\u202f050,00\u202f€"  # neither the unpriced nor the empty session
    assert "Personne n&#39;est venu</td>" not in page  # no line of zeros by programme
    notes = [row[0].value for row in workbook["Produits"].iter_rows(min_row=4) if row[0].value]
    assert notes[-4:] == ["1 inscription facturée n'a pas de prix (« sur demande ») : elle compte pour 0,00\u202f€, les "
                          "produits sont incomplets.",
                          "Du dialogue à la négociation, session du 5 mars 2030 (1 inscription)",
                          "1 session terminée sans personne présente n'est pas comptée (ni produits, ni ligne par "
                          "formation) : elle n'a pas eu lieu. Si elle a eu lieu, faites saisir les présences sur ses "
                          "feuilles d'émargement.",
                          "Personne n'est venu, session du 7 mai 2030"]


def test_without_unpriced_enrolments_nor_empty_sessions_the_page_says_nothing_of_them(admin_client, year_2030):
    page = admin_client.get("/rapports/bilan?annee=2030").get_data(as_text=True)
    assert 'data-testid="unpriced"' not in page and 'data-testid="unattended"' not in page
    assert "Les frais annexes demandés en subrogation sont des produits quelle que soit la réponse de l'OPCO" \
        in page
