"""flask annual-report YEAR --out FILE.xlsx: the annual report's workbook from the command line."""
import click

from training_app.extensions import db


@click.command("annual-report")
@click.argument("year")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The .xlsx file to write.")
def annual_report(year: str, out: str) -> None:
    """Write the annual report (bilan pédagogique et financier) of YEAR to FILE.xlsx."""
    from training_app.formatting import hours
    from training_app.services import ServiceError
    from training_app.services import annual_report as report_service

    try:
        year_number = report_service.check_year(year)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    report = report_service.build(year_number)
    content = report_service.workbook_bytes(report)
    db.session.commit()  # closed anonymous questionnaires release their pending answers when first counted
    try:
        with open(out, "wb") as handle:
            handle.write(content)
    except OSError as error:  # a missing folder, a directory, no permission, a full disk
        raise click.ClickException(
            f"Impossible d'écrire le classeur dans {out} : {error.strerror or error}. "
            "Vérifiez que le dossier existe et que vous pouvez y écrire.") from None
    click.echo(f"Bilan {year_number} : {report.category_total.trainees} stagiaires, "
               f"{hours(report.category_total.minutes)} suivies ; classeur écrit dans {out}.")
