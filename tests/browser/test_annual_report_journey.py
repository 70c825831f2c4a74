"""An administrator opens Bilan annuel from the menu, picks a year, reads the totals and downloads the
workbook, which gives the same figures."""
import io

import pytest
from openpyxl import load_workbook

from tests import factories
from tests.unit.test_annual_report import _mark, _set

pytestmark = pytest.mark.browser


def test_admin_reads_and_downloads_the_annual_report(page):
    trainer = factories.make_user("trainer")
    session, (present, absent) = factories.make_attendance_session(
        trainees=2, trainers=[trainer], programme=factories.make_programme(title="Organiser une mobilisation"))
    _mark(session, trainer, {(absent.id, 2): ("absent_justified", {"justification": "Malade"})})  # Wed pm, 4 h
    _set(present, funding_mode="personal", price_cents=45000)
    _set(absent, funding_mode="employer", price_cents=84000)
    _set(session, status="completed")
    admin = factories.make_user("admin", name="Alice Admin")

    factories.sign_in_browser(page, admin)
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Bilan annuel").click()
    page.get_by_label("Année").select_option("2030")
    page.get_by_role("button", name="Afficher").click()

    page.get_by_role("heading", name="Bilan pédagogique et financier 2030").wait_for()
    total = page.get_by_test_id("category-total")
    assert total.inner_text().split("\t") == ["Total", "2", "38 h"]
    assert "Organiser une mobilisation" in page.get_by_test_id("programmes").inner_text()
    assert page.get_by_test_id("revenue-total").inner_text().split("\t") == ["Total", "1\u202f290,00\u202f€"]

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger (.xlsx)").click()
    assert download.value.suggested_filename == "bilan-2030.xlsx"
    workbook = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    assert [c.value for c in workbook["Stagiaires"][8]] == ["Total", 2, 38]
    assert [c.value for c in workbook["Formations"][4]] == ["Organiser une mobilisation", 1, 2, 38]
    assert {row[0].value: row[1].value for row in workbook["Produits"].iter_rows(min_row=4)}["Total"] == 1290
