"""The claim's figures from plain data: absences never billed, caps, agreed amounts, half-up rounding."""
from decimal import Decimal

from training_app.services.claim_calculation import (AgreementTerms, TraineeFigures, calculate, hours_changes,
                                                     received_by_line, round_cents)


def trainee(enrolment_id, attended, planned=1260, justified=0, unjustified=0, name=None, annex=None, price=None):
    return TraineeFigures(enrolment_id=enrolment_id, trainee_name=name or f"Stagiaire {enrolment_id}",
                          employer_name="CCAS de Rennes", employer_siret="78324521000001", job_title="Assistante",
                          planned_minutes=planned, attended_minutes=attended, absent_justified_minutes=justified,
                          absent_unjustified_minutes=unjustified, annex=annex or {}, price_cents=price)


def test_absences_are_never_billed():
    terms = AgreementTerms("D-1", (trainee(1, 1260), trainee(2, 1020, unjustified=240)), hourly_rate_cents=1500)
    result = calculate([terms])
    full, missed = result["lines"]
    assert full["pedagogical_cents"] == 21 * 1500
    assert missed["attended_minutes"] == 1020 and missed["absent_unjustified_minutes"] == 240
    assert missed["pedagogical_cents"] == 17 * 1500
    assert result["totals"]["pedagogical_cents"] == 38 * 1500
    assert result["totals"]["attended_minutes"] == 2280


def test_attended_minutes_never_exceed_planned_ones():
    result = calculate([AgreementTerms("D-1", (trainee(1, 1500, planned=1260),), hourly_rate_cents=1000)])
    assert result["lines"][0]["attended_minutes"] == 1260
    assert result["lines"][0]["pedagogical_cents"] == 21000


def test_the_hourly_cap_limits_the_rate():
    result = calculate([AgreementTerms("D-1", (trainee(1, 1260),), hourly_rate_cents=3000, hourly_cap_cents=2500)])
    line = result["lines"][0]
    assert Decimal(line["hourly_rate_cents"]) == 2500
    assert line["pedagogical_cents"] == 21 * 2500
    assert any("plafond" in note for note in line["notes"])


def test_the_agreed_amount_limits_the_lines_of_an_agreement():
    terms = AgreementTerms("D-1", (trainee(1, 1260), trainee(2, 1260)), hourly_rate_cents=2000, amount_cents=60000)
    first, second = calculate([terms])["lines"]
    assert first["pedagogical_cents"] == 42000
    assert second["pedagogical_cents"] == 18000  # what is left of the 600 € agreed
    assert any("accord" in note for note in second["notes"])


def test_an_amount_without_rate_is_spread_over_the_planned_hours():
    terms = AgreementTerms("D-1", (trainee(1, 1260), trainee(2, 630)), amount_cents=84000)
    first, second = calculate([terms])["lines"]
    assert Decimal(first["hourly_rate_cents"]) == Decimal("2000")
    assert first["pedagogical_cents"] == 42000 and second["pedagogical_cents"] == 21000


def test_the_planned_hours_of_trainees_not_billed_still_share_the_agreed_amount():
    """630 € agreed for two trainees of 21 h; one cancelled (not billed): the other's 21 h at 15 €/h."""
    terms = AgreementTerms("UNI-1", (TraineeFigures(1, "A", planned_minutes=1260, attended_minutes=1260),),
                           amount_cents=63000, unbilled_planned_minutes=1260)
    assert calculate([terms])["totals"]["total_cents"] == 31500


def test_rounding_is_half_up_to_the_cent_once_per_line():
    # 1333 cents/h × 10 min = 222.1666… cents -> 222; 1335 × 10 min = 222.5 -> 223 (half up, not to even)
    assert round_cents(Decimal("222.5")) == 223
    assert round_cents(Decimal("221.5")) == 222
    lines = calculate([AgreementTerms("D-1", (trainee(1, 10, planned=10),), hourly_rate_cents=1335)])["lines"]
    assert lines[0]["pedagogical_cents"] == 223
    lines = calculate([AgreementTerms("D-1", (trainee(1, 10, planned=10),), hourly_rate_cents=1333)])["lines"]
    assert lines[0]["pedagogical_cents"] == 222


def test_annex_costs_are_billed_within_the_agreed_amount_when_accepted():
    annex = {"travel": (5000, 4200), "accommodation": (8000, 9000), "meals": (0, 1500)}
    terms = AgreementTerms("D-1", (trainee(1, 1260, annex=annex),), hourly_rate_cents=1000)
    line = calculate([terms])["lines"][0]
    assert {k: v["billed_cents"] for k, v in line["annex"].items()} == {
        "travel": 4200, "accommodation": 8000, "meals": 0}
    assert line["annex_cents"] == 12200
    assert line["total_cents"] == 21000 + 12200
    refused = calculate([terms], accepts_annex_costs=False)["lines"][0]
    assert refused["annex_cents"] == 0 and refused["total_cents"] == 21000


def test_totals_are_the_sums_of_the_lines():
    terms = [AgreementTerms("D-1", (trainee(1, 1260, annex={"meals": (3000, 3000)}), trainee(2, 840, justified=420)),
                            hourly_rate_cents=1750),
             AgreementTerms("D-2", (trainee(3, 1260),), amount_cents=31500)]
    result = calculate(terms)
    totals = result["totals"]
    for key in ("planned_minutes", "attended_minutes", "absent_justified_minutes", "pedagogical_cents",
                "annex_cents", "total_cents"):
        assert totals[key] == sum(line[key] for line in result["lines"])
    assert totals["annex"]["meals"] == 3000
    assert totals["trainees"] == 3


def test_a_trainee_is_never_billed_more_than_the_price_of_their_enrolment():
    # 99 €/h agreed on a session sold 120,50 €: 21 h would bill 2 079 €; the price is the most billed.
    terms = AgreementTerms("D-1", (trainee(1, 1260, price=12050), trainee(2, 60, price=12050), trainee(3, 1260)),
                           hourly_rate_cents=9900)
    capped, below, without_price = calculate([terms])["lines"]
    assert capped["pedagogical_cents"] == 12050
    assert "montant limité au prix de l'inscription (120,50\u202f€)" in capped["notes"]
    assert below["pedagogical_cents"] == 9900 and below["notes"] == []  # 1 h at 99 €: under the price
    assert without_price["pedagogical_cents"] == 21 * 9900  # no price set: nothing to cap


def test_the_price_cap_comes_before_the_agreed_amount_and_the_hourly_cap_still_shows():
    terms = AgreementTerms("D-1", (trainee(1, 1260, price=30000), trainee(2, 1260, price=30000)),
                           hourly_rate_cents=5000, hourly_cap_cents=4000, amount_cents=50000)
    first, second = calculate([terms])["lines"]
    assert first["pedagogical_cents"] == 30000 and second["pedagogical_cents"] == 20000
    assert "taux limité au plafond horaire (40,00\u202f€/h)" in first["notes"]
    assert "montant limité au prix de l'inscription (300,00\u202f€)" in first["notes"]
    assert "montant limité à l'accord (500,00\u202f€)" in second["notes"]


def test_the_notes_write_amounts_as_money_does():
    """The amounts of the notes go through formatting.money: thousands grouped, a narrow no-break space (U+202F)
    before "€", never a plain one."""
    terms = AgreementTerms("D-1", (trainee(1, 1260, price=123456),), hourly_rate_cents=1_000_000,
                           hourly_cap_cents=250_000)
    notes = calculate([terms])["lines"][0]["notes"]
    assert notes == ["taux limité au plafond horaire (2\u202f500,00\u202f€/h)",
                     "montant limité au prix de l'inscription (1\u202f234,56\u202f€)"]


def sent_line(enrolment_id, attended, planned=1260, name="M. Karim BENALI"):
    return {"enrolment_id": enrolment_id, "trainee_name": name, "attended_minutes": attended,
            "planned_minutes": planned}


def test_hours_changes_names_the_trainees_whose_hours_changed_since_sending():
    lines = [sent_line(1, 1020), sent_line(2, 1260, name="Mme Awa DIALLO"), sent_line(3, 840, name="Mme Sophie RENAUD")]
    sheets = {1: 1140, 2: 1260, 3: 840}
    certificates = {1: (1140, 2), 2: (1260, 1), 3: (1020, 2)}
    changes = hours_changes(lines, sheets, certificates)
    assert changes == [
        {"enrolment_id": 1, "trainee_name": "M. Karim BENALI", "billed_minutes": 1020, "sheet_minutes": 1140,
         "certificate_minutes": 1140, "certificate_version": 2},  # sheet corrected, certificate issued again
        {"enrolment_id": 3, "trainee_name": "Mme Sophie RENAUD", "billed_minutes": 840, "sheet_minutes": 840,
         "certificate_minutes": 1020, "certificate_version": 2},  # the certificate alone says other hours
    ]


def test_hours_changes_sees_a_corrected_sheet_before_the_certificate_is_issued_again_and_a_withdrawn_one():
    lines = [sent_line(1, 1020), sent_line(2, 240), sent_line(3, 0)]
    changes = hours_changes(lines, {1: 1140, 2: 0}, {1: (1020, 1)})
    assert [(c["enrolment_id"], c["sheet_minutes"], c["certificate_minutes"]) for c in changes] == [
        (1, 1140, 1020),  # sheet corrected, certificate not issued again yet
        (2, 0, None),     # no attendance left: certificate withdrawn
    ]  # 3 attended nothing, billed nothing, has no certificate: nothing changed


def test_hours_beyond_the_planned_ones_change_nothing():
    assert hours_changes([sent_line(1, 1260)], {1: 1300}, {1: (1300, 1)}) == []


def test_money_received_is_spread_over_the_subrogation_lines():
    lines = [{"total_cents": 31500, "mode": "subrogation"}, {"total_cents": 25500, "mode": "subrogation"},
             {"total_cents": 34000, "mode": "reimbursement"}, {"total_cents": 10000, "mode": "subrogation"}]
    shares = received_by_line(lines, 20000)
    # 200 € over 670 € due: 94,0298… €, 76,1194… €, 29,8507… €; the two cents left to the largest fractions
    assert shares == [9403, 7612, 0, 2985] and sum(shares) == 20000
    assert received_by_line(lines, 67000) == [31500, 25500, 0, 10000]
    assert received_by_line(lines, 90000) == [31500, 25500, 0, 10000]  # never above a line
    assert received_by_line(lines, 0) == [0, 0, 0, 0]
    assert received_by_line([{"total_cents": 0, "mode": "subrogation"}], 500) == [0]
