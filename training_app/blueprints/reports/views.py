"""Reports for the administration: the annual report (bilan pédagogique et financier) and the quality
indicators, on a page and as an .xlsx workbook (administrators)."""
import io

from flask import render_template, request, send_file

from training_app.access import ADMIN, access
from training_app.blueprints.reports import bp
from training_app.documents.uploads import MIMETYPES
from training_app.extensions import db
from training_app.services import ServiceError, annual_report

YEAR_PARAMETER = "annee"


def _year() -> int:
    """The year asked for (?annee=), last year by default; raises ServiceError for a bad one."""
    raw = request.args.get(YEAR_PARAMETER)
    return annual_report.default_year() if raw is None else annual_report.check_year(raw)


def _page(report=None, error: str | None = None):
    return render_template("reports/annual.html", report=report, error=error,
                           years=annual_report.years_with_sessions(), year=report.year if report else None,
                           default_year=annual_report.default_year(),
                           indicators=annual_report.indicator_rows(report) if report else [],
                           unpriced_notice=annual_report.unpriced_notice(report) if report else "",
                           unattended_notice=annual_report.unattended_notice(report) if report else "",
                           session_label=annual_report.session_label)


def _asked_report():
    """(the report of the year asked for, None), or (None, the page refusing a bad year: 400, nothing computed)."""
    try:
        year = _year()
    except ServiceError as error:
        return None, (_page(error=error.message), 400)
    report = annual_report.build(year)
    db.session.commit()  # closed anonymous questionnaires release their pending answers when first counted
    return report, None


@bp.route("/bilan")
@access(ADMIN)
def annual():
    report, refusal = _asked_report()
    return refusal or _page(report)


@bp.route("/bilan.xlsx")
@access(ADMIN)
def annual_workbook():
    report, refusal = _asked_report()
    if refusal:
        return refusal
    response = send_file(io.BytesIO(annual_report.workbook_bytes(report)), mimetype=MIMETYPES["xlsx"],
                         as_attachment=True, download_name=annual_report.filename(report.year))
    response.headers["Cache-Control"] = "private, no-store"
    return response
