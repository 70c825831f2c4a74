"""The annual report (bilan pédagogique et financier) and quality indicators, from hand-built data."""
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from tests import factories
from tests.factories import t
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import ServiceError, annual_report, attendance


def _mark(session, trainer, special=None):
    """Every confirmed trainee present on every half-day of `session`, but `special`:
    {(enrolment_id, slot_index): (status, {arrival/departure/justification})}. Through the attendance rules."""
    from training_app.models import Enrolment, EnrolmentStatus
    special = special or {}
    enrolments = db.session.scalars(db.select(Enrolment).where(
        Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.CONFIRMED)).all()
    for index, slot in enumerate(session.slots):
        with frozen_at(slot.starts_at + timedelta(minutes=10)):
            for enrolment in enrolments:
                status, details = special.get((enrolment.id, index), ("present", {}))
                attendance.mark(slot, enrolment, status, actor=trainer, **details)
        db.session.commit()


def _set(obj, **values):
    """Test data: attributes set as they are (a state reached by the rules elsewhere)."""
    for name, value in values.items():
        setattr(obj, name, value)
    db.session.commit()
    return obj


def _category(report, key):
    return next(line for line in report.categories if line.key == key)


def test_hours_attended_by_category_deduct_absences_and_count_late_arrivals_in_minutes():
    trainer = factories.make_user("trainer")
    session, (employee, job_seeker, individual) = factories.make_attendance_session(trainees=3, trainers=[trainer])
    _set(job_seeker.trainee, category="job_seeker")
    _set(individual.trainee, category="individual", employer=None)
    # 6 half-days, 21 h: Tue 14-18, Wed and Thu 9:30-12:30 and 14-18, Fri 9:30-12:30
    _mark(session, trainer, {
        (employee.id, 1): ("absent_justified", {"justification": "Rendez-vous médical"}),   # Wed morning, 3 h
        (job_seeker.id, 0): ("late", {"arrival": t("14:25")}),                              # 25 minutes missed
        (individual.id, 5): ("left_early", {"departure": t("11:50")}),                      # 40 minutes missed
    })

    report = annual_report.build(2030)

    assert (_category(report, "employee").trainees, _category(report, "employee").minutes) == (1, 18 * 60)
    assert (_category(report, "job_seeker").trainees, _category(report, "job_seeker").minutes) == (1, 21 * 60 - 25)
    assert (_category(report, "individual").trainees, _category(report, "individual").minutes) == (1, 21 * 60 - 40)
    assert (_category(report, "other").trainees, _category(report, "other").minutes) == (0, 0)
    assert report.category_total.trainees == 3
    assert report.category_total.minutes == 18 * 60 + 21 * 60 - 25 + 21 * 60 - 40
    # the same rule as the sheets' totals of the session
    assert report.category_total.minutes == sum(
        total.attended_minutes for total in attendance.totals_for_session(session).values())
    assert [str(line.label) for line in report.categories] == [
        "Salarié·es d'employeurs privés ou publics", "Demandeur·euses d'emploi", "Particuliers à leurs propres frais",
        "Autres stagiaires"]
    # one trainer, every half-day: 21 h taught
    assert (report.trainers, report.trainer_minutes) == (1, 21 * 60)


def test_a_trainee_in_two_sessions_counts_once_per_session_and_a_trainer_counts_each_session_taught():
    trainer, other = factories.make_user("trainer"), factories.make_user("trainer")
    programme = factories.make_programme(title="Négocier")
    first = factories.make_session(programme=programme, trainers=[trainer, other])
    second = factories.make_session(programme=programme, trainers=[trainer], start=datetime(2030, 6, 4, 14, 0),
                                    end=datetime(2030, 6, 7, 12, 30))
    trainee = factories.make_trainee()
    factories.make_enrolment(first, trainee)
    factories.make_enrolment(second, trainee)
    _mark(first, trainer)
    _mark(second, trainer)

    report = annual_report.build(2030)

    # one person, two training actions followed: counted twice, as on the BPF
    assert report.category_total.trainees == 2 and report.category_total.minutes == 42 * 60
    assert [(p.title, p.sessions, p.trainees, p.minutes) for p in report.programmes] == [("Négocier", 2, 2, 42 * 60)]
    # both trainers teach the first session (21 h each), one the second: 2 people, 63 h
    assert (report.trainers, report.trainer_minutes) == (2, 63 * 60)


def test_trainees_and_hours_by_objective_f3_and_by_speciality_f4_come_from_the_programmes_rows():
    trainer = factories.make_user("trainer")
    social = factories.make_programme(title="Négocier", bpf_objective="d", nsf_code="332", nsf_label="Travail social")
    review = factories.make_programme(title="Bilan", bpf_objective="e", nsf_code="413",
                                      nsf_label="Développement des capacités comportementales et relationnelles")
    unknown = factories.make_programme(title="Sans code", bpf_objective="d")
    people = [factories.make_trainee() for _ in range(3)]  # the first in two programmes
    starts = [datetime(2030, 3, 5, 14, 0), datetime(2030, 4, 2, 14, 0), datetime(2030, 5, 7, 14, 0)]
    for (programme, trainees), start in zip(
            [(social, people[:1]), (review, people[1:2]), (unknown, [people[0], people[2]])], starts):
        session = factories.make_session(programme=programme, trainers=[trainer], start=start,
                                         end=start + timedelta(days=3, hours=-1, minutes=-30))
        for trainee in trainees:
            factories.make_enrolment(session, trainee)
        _mark(session, trainer)

    report = annual_report.build(2030)

    assert (report.category_total.trainees, report.category_total.minutes) == (4, 4 * 21 * 60)
    assert [(line.key, line.label, line.trainees, line.minutes) for line in report.objectives] == [
        ("d", "d) Autres formations professionnelles", 3, 3 * 21 * 60),
        ("e", "e) Bilans de compétences", 1, 21 * 60)]
    assert [(line.key, line.label, line.trainees, line.minutes) for line in report.specialities] == [
        ("332", "Travail social", 1, 21 * 60),
        ("413", "Développement des capacités comportementales et relationnelles", 1, 21 * 60),
        ("", "Spécialité non renseignée", 2, 2 * 21 * 60)]
    _assert_every_table_adds_up_to_the_same_total(report)


def _assert_every_table_adds_up_to_the_same_total(report):
    total = (report.category_total.trainees, report.category_total.minutes)
    assert (report.programme_total.trainees, report.programme_total.minutes) == total
    for table in (report.categories, report.programmes, report.objectives, report.specialities):
        assert (sum(line.trainees for line in table), sum(line.minutes for line in table)) == total


def _held_session(programme, start, trainer, trainees):
    session = factories.make_session(programme=programme, trainers=[trainer], start=start,
                                     end=start + timedelta(days=3, hours=-1, minutes=-30))
    for trainee in trainees:
        factories.make_enrolment(session, trainee)
    _mark(session, trainer)
    return session


def test_one_person_in_two_programmes_of_different_objectives_and_specialities_counts_in_each_and_tables_add_up():
    """The BPF counts a trainee once per training action followed: one unit per enrolment with hours in the
    year, in every table, so that each table's lines add up to its total and all totals are equal."""
    trainer = factories.make_user("trainer")
    social = factories.make_programme(title="Négocier", bpf_objective="d", nsf_code="332", nsf_label="Travail social")
    review = factories.make_programme(title="Bilan", bpf_objective="e", nsf_code="413", nsf_label="Dév. personnel")
    both, only = factories.make_trainee(), factories.make_trainee()
    _held_session(social, datetime(2030, 3, 5, 14, 0), trainer, [both, only])
    _held_session(review, datetime(2030, 4, 2, 14, 0), trainer, [both])

    report = annual_report.build(2030)

    assert (report.category_total.trainees, report.category_total.minutes) == (3, 3 * 21 * 60)
    assert [(line.key, line.trainees) for line in report.objectives] == [("d", 2), ("e", 1)]
    assert [(line.key, line.trainees) for line in report.specialities] == [("332", 2), ("413", 1)]
    assert sorted((line.title, line.trainees) for line in report.programmes) == [("Bilan", 1), ("Négocier", 2)]
    _assert_every_table_adds_up_to_the_same_total(report)


def test_f4_groups_on_the_three_digits_of_the_nsf_code_with_the_label_of_most_programmes():
    trainer = factories.make_user("trainer")
    programmes = [factories.make_programme(title=title, nsf_code=code, nsf_label=label) for title, code, label in [
        ("A", "332", "Travail social"), ("B", "332t", "Travail social (enseignement)"),
        ("C", "332", "Travail social"), ("D", "413", "Relations interpersonnelles"),
        ("E", "413", "Développement personnel"), ("F", "", "Libellé sans code"), ("G", "315", "")]]
    for n, programme in enumerate(programmes):
        _held_session(programme, datetime(2030, 1 + n, 8, 14, 0), trainer, [factories.make_trainee()])

    report = annual_report.build(2030)

    assert [(line.key, line.label, line.trainees) for line in report.specialities] == [
        ("315", "", 1),
        ("332", "Travail social", 3),  # 332 and 332t are one speciality; the label of two programmes out of three
        ("413", "Développement personnel", 2),  # one programme each: the first in alphabetical order
        ("", "Spécialité non renseignée", 1)]
    _assert_every_table_adds_up_to_the_same_total(report)


def test_a_session_over_new_year_splits_its_hours_between_the_two_years():
    trainer = factories.make_user("trainer")
    session, (enrolment,) = factories.make_attendance_session(
        trainees=1, trainers=[trainer], start=datetime(2030, 12, 30, 14, 0), end=datetime(2031, 1, 2, 12, 30))
    assert [(s.date, s.minutes) for s in session.slots] == [
        (date(2030, 12, 30), 240), (date(2030, 12, 31), 180), (date(2030, 12, 31), 240),
        (date(2031, 1, 1), 180), (date(2031, 1, 1), 240), (date(2031, 1, 2), 180)]
    _mark(session, trainer, {(enrolment.id, 4): ("absent_unjustified", {})})  # 1 Jan afternoon missed

    in_2030, in_2031 = annual_report.build(2030), annual_report.build(2031)

    assert (in_2030.category_total.trainees, in_2030.category_total.minutes) == (1, 11 * 60)
    assert (in_2031.category_total.trainees, in_2031.category_total.minutes) == (1, 6 * 60)
    assert (in_2030.trainer_minutes, in_2031.trainer_minutes) == (11 * 60, 10 * 60)
    assert in_2030.programmes[0].sessions == in_2031.programmes[0].sessions == 1
    assert annual_report.years_with_sessions() == [2031, 2030]


def test_completion_and_dropout_count_the_trainees_of_completed_sessions():
    trainer = factories.make_user("trainer")
    session, enrolments = factories.make_attendance_session(trainees=4, trainers=[trainer])
    _mark(session, trainer)
    _set(enrolments[0], status="withdrawn", withdrawn_on=date(2030, 3, 7))
    factories.make_enrolment(session, status="cancelled")  # cancelled before the course: neither
    _set(session, status="completed")
    running = factories.make_session(start=datetime(2030, 9, 3, 14, 0), end=datetime(2030, 9, 6, 12, 30))
    factories.make_enrolment(running, status="withdrawn")  # not completed: not counted

    indicators = annual_report.build(2030).indicators

    assert (indicators.completed_sessions, indicators.confirmed, indicators.withdrawn) == (1, 3, 1)
    assert (indicators.completion_rate, indicators.dropout_rate) == (75, 25)


def test_a_session_whose_last_day_has_passed_is_over_even_if_the_office_did_not_mark_it_completed():
    trainer = factories.make_user("trainer")
    session, enrolments = factories.make_attendance_session(trainees=4, trainers=[trainer])  # still "open"
    _mark(session, trainer)
    _set(enrolments[0], status="withdrawn", withdrawn_on=date(2030, 3, 7))

    with frozen_at(session.end_at - timedelta(hours=1)):
        assert annual_report.build(2030).indicators.completed_sessions == 0  # not over yet
    with frozen_at(datetime(2031, 2, 1, 10, 0)):
        indicators = annual_report.build(2030).indicators
    assert (indicators.completed_sessions, indicators.confirmed, indicators.withdrawn) == (1, 3, 1)
    assert indicators.dropout_rate == 25


def test_a_session_over_that_nobody_attended_was_not_held():
    trainer = factories.make_user("trainer")
    held, _ = factories.make_attendance_session(trainees=2, trainers=[trainer])
    _mark(held, trainer)
    factories.make_attendance_session(trainees=1, trainers=[trainer], programme=held.programme,
                                      start=datetime(2030, 5, 7, 14, 0), end=datetime(2030, 5, 10, 12, 30))
    with frozen_at(datetime(2031, 2, 1, 10, 0)):
        report = annual_report.build(2030)
    assert report.indicators.completed_sessions == 1
    assert [(p.sessions, p.trainees) for p in report.programmes] == [(1, 2)]
    assert report.programme_total.sessions == 1


def test_a_cancelled_session_counts_for_nothing_but_its_number():
    trainer = factories.make_user("trainer")
    kept, _ = factories.make_attendance_session(trainees=1, trainers=[trainer])
    _mark(kept, trainer)
    cancelled, (enrolment,) = factories.make_attendance_session(
        trainees=1, trainers=[trainer], programme=factories.make_programme(title="Annulée"),
        start=datetime(2030, 5, 7, 14, 0), end=datetime(2030, 5, 10, 12, 30))
    enrolment.price_cents, enrolment.funding_mode = 50000, "personal"
    _mark(cancelled, trainer)
    _set(cancelled, status="cancelled")

    report = annual_report.build(2030)

    assert report.category_total.minutes == 21 * 60 and report.trainer_minutes == 21 * 60
    assert "Annulée" not in [p.title for p in report.programmes]
    assert report.sessions == 1 and report.indicators.cancelled_sessions == 1
    assert next(line for line in report.revenue if line.key == "personal").cents == 0


def test_a_programme_without_a_session_in_the_year_is_absent():
    trainer = factories.make_user("trainer")
    this_year, _ = factories.make_attendance_session(trainees=1, trainers=[trainer],
                                                     programme=factories.make_programme(title="Cette année"))
    _mark(this_year, trainer)
    factories.make_session(programme=factories.make_programme(title="L'an prochain"),
                           start=datetime(2031, 3, 4, 14, 0), end=datetime(2031, 3, 7, 12, 30))
    factories.make_programme(title="Jamais programmée")

    assert [p.title for p in annual_report.build(2030).programmes] == ["Cette année"]
    assert [p.title for p in annual_report.build(2031).programmes] == ["L'an prochain"]


def test_revenue_by_kind_of_payer():
    trainer = factories.make_user("trainer")
    session, enrolments = factories.make_attendance_session(trainees=7, trainers=[trainer])
    subrogation, reimbursement, not_claimed, employer, personal, other, unknown = enrolments
    for enrolment, mode, price in ((subrogation, "opco", 84000), (reimbursement, "opco", 84000),
                                   (not_claimed, "opco", 84000), (employer, "employer", 84000),
                                   (personal, "personal", 45000), (other, "other", 60000), (unknown, "", 30000)):
        _set(enrolment, funding_mode=mode, price_cents=price)
    _mark(session, trainer, {(subrogation.id, 0): ("absent_unjustified", {})})  # 4 h not billed: 17 h
    _set(session, status="completed")
    funder = factories.make_funder()
    factories.make_agreement(session, [subrogation], funder=funder, hourly_rate_cents=1500)
    factories.make_agreement(session, [reimbursement], funder=funder, hourly_rate_cents=2000, mode="reimbursement")
    factories.make_claim(funder, session, status="sent")
    draft_funder = factories.make_funder()
    factories.make_agreement(session, [not_claimed], funder=draft_funder)
    factories.make_claim(draft_funder, session, status="draft")  # not sent: the enrolment counts at its price
    internal = factories.make_session(programme=factories.make_programme(kind="internal", price_cents=None),
                                      start=datetime(2030, 6, 4, 14, 0), end=datetime(2030, 6, 7, 12, 30))
    _set(factories.make_enrolment(internal), funding_mode="personal", price_cents=0)  # free for members (price_for)

    report = annual_report.build(2030)

    # subrogation: the funder pays 17 h at 15 €, the employer the rest of the price; reimbursement: the price
    assert {line.key: line.cents for line in report.revenue} == {
        "opco": 17 * 1500, "employer": (84000 - 17 * 1500) + 84000 + 84000, "opco_not_claimed": 84000,
        "opco_refused": 0, "personal": 45000, "other": 60000, "unknown": 30000}
    assert report.revenue_cents == 84000 * 4 + 45000 + 60000 + 30000


def test_a_rejected_claim_a_claim_made_twice_a_withdrawal_and_an_internal_programme():
    trainer = factories.make_user("trainer")
    session, (refused, twice, withdrawn) = factories.make_attendance_session(trainees=3, trainers=[trainer])
    for enrolment, mode in ((refused, "opco"), (twice, "opco"), (withdrawn, "personal")):
        _set(enrolment, funding_mode=mode, price_cents=84000)
    _mark(session, trainer)
    _set(withdrawn, status="withdrawn", withdrawn_on=date(2030, 3, 7))  # attended, then left: still billed
    _set(session, status="completed")
    refusing, paying = factories.make_funder(), factories.make_funder()
    factories.make_agreement(session, [refused], funder=refusing, hourly_rate_cents=4000)
    factories.make_claim(refusing, session, status="rejected")
    factories.make_agreement(session, [twice], funder=paying, hourly_rate_cents=4000)
    factories.make_claim(paying, session, status="sent")
    factories.make_claim(paying, session, status="paid")  # the same line claimed again
    internal, (member,) = factories.make_attendance_session(
        trainees=1, trainers=[trainer], programme=factories.make_programme(kind="internal", price_cents=None),
        start=datetime(2030, 6, 4, 14, 0), end=datetime(2030, 6, 7, 12, 30))
    _set(member, funding_mode="opco", price_cents=0)  # free for members: priced 0 at enrolment (price_for)
    _mark(internal, trainer)
    factories.make_agreement(internal, [member], funder=paying, hourly_rate_cents=1000)
    factories.make_claim(paying, internal, status="sent")  # a free course: its line is capped at its price, 0

    revenue = {line.key: line.cents for line in annual_report.build(2030).revenue}

    assert revenue["opco_refused"] == 84000
    assert revenue["opco"] == 21 * 4000  # the line claimed twice counted once; the internal claim brings nothing
    assert revenue["personal"] == 84000
    assert revenue["employer"] == 0 and revenue["opco_not_claimed"] == 0


def test_revenue_is_the_price_fixed_at_enrolment_whatever_the_catalogue_says_since():
    """Enrolled through the rules (enrolments.price_for): 0 in an internal programme, the cycle's special price
    for a third programme of the cycle. Turning a programme internal, or an internal one paying, afterwards does
    not change the year's revenue."""
    from training_app.services import enrolments as enrolment_service
    cycle = factories.make_cycle(special_price_cents=45000)
    paying = [factories.make_programme(title=f"Cycle {n}", cycle=cycle, price_cents=84000) for n in range(3)]
    free = factories.make_programme(title="Adhérent·es", kind="internal", price_cents=None)
    trainee = factories.make_trainee()
    for n, programme in enumerate([*paying, free]):
        start = datetime(2030, 3 + n, 5, 14, 0)
        session = factories.make_session(programme=programme, start=start,
                                         end=start + timedelta(days=3, hours=-1, minutes=-30))
        enrolment_service.enrol(session, trainee, funding_mode="employer")
        db.session.commit()
    before = annual_report.build(2030)
    assert before.revenue_cents == 84000 + 84000 + 45000

    _set(paying[0], kind="internal", price_cents=None)  # in 2031 the course becomes free for members
    _set(paying[1], price_cents=99000)
    _set(free, kind="external", price_cents=30000)

    after = annual_report.build(2030)
    assert {line.key: line.cents for line in after.revenue} == {line.key: line.cents for line in before.revenue}
    assert after.revenue_cents == 84000 + 84000 + 45000


def test_a_claim_over_a_period_counts_each_line_in_its_session_s_year():
    from training_app.models import FundingClaim
    from training_app.services import funding as funding_service
    trainer = factories.make_user("trainer")
    funder = factories.make_funder()
    december, (first,) = factories.make_attendance_session(trainees=1, trainers=[trainer],
                                                           start=datetime(2030, 12, 3, 14, 0),
                                                           end=datetime(2030, 12, 6, 12, 30))
    january, (second,) = factories.make_attendance_session(trainees=1, trainers=[trainer],
                                                           start=datetime(2031, 1, 7, 14, 0),
                                                           end=datetime(2031, 1, 10, 12, 30))
    for session, enrolment in ((december, first), (january, second)):
        _mark(session, trainer)
        _set(session, status="completed")
        _set(enrolment, funding_mode="opco")
        factories.make_agreement(session, [enrolment], funder=funder, hourly_rate_cents=1000)
    claim = FundingClaim(funder=funder, sessions=[december, january], status="draft", number="2031-0001",
                         period_start=date(2030, 12, 1), period_end=date(2031, 1, 31))
    db.session.add(claim)
    funding_service.refresh(claim)
    _set(claim, status="paid", paid_cents=claim.total_cents)

    for year in (2030, 2031):
        revenue = {line.key: line.cents for line in annual_report.build(year).revenue}
        assert revenue["opco"] == 21 * 1000 and revenue["opco_not_claimed"] == 0


def test_revenue_belongs_to_the_year_the_session_ends():
    session = factories.make_session(start=datetime(2030, 12, 30, 14, 0), end=datetime(2031, 1, 2, 12, 30))
    _set(factories.make_enrolment(session), funding_mode="employer", price_cents=84000)

    assert annual_report.build(2030).revenue_cents == 0
    assert annual_report.build(2031).revenue_cents == 84000


def test_satisfaction_is_the_share_of_ratings_of_4_or_5_and_the_response_rate_is_given():
    session, enrolments = factories.make_attendance_session(trainees=4)
    survey = factories.make_survey(session, factories.make_questionnaire(anonymous=False))
    for enrolment, rating in zip(enrolments[:3], (5, 4, 2)):
        factories.answer_survey(survey, enrolment.trainee, {1: rating, 2: "yes"})
    positioning = factories.make_survey(session, factories.make_questionnaire(anonymous=False, kind="positioning"))
    factories.answer_survey(positioning, enrolments[3].trainee, {1: 1, 2: "no"})  # not a satisfaction survey

    satisfaction = annual_report.build(2030).indicators.satisfaction

    assert (satisfaction.ratings, satisfaction.ratings_at_least, satisfaction.share) == (3, 2, 67)
    assert (satisfaction.responded, satisfaction.invited, satisfaction.rate) == (3, 4, 75)
    assert annual_report.build(2031).indicators.satisfaction.share is None


def test_an_anonymous_survey_with_too_few_answers_gives_its_response_rate_only():
    session, enrolments = factories.make_attendance_session(trainees=3)
    survey = factories.make_survey(session, factories.make_questionnaire(anonymous=True))
    factories.answer_survey(survey, enrolments[0].trainee, {1: 5, 2: "yes"})

    with frozen_at(datetime(2030, 4, 1)):  # closed, one answer: withheld
        satisfaction = annual_report.build(2030).indicators.satisfaction

    assert (satisfaction.ratings, satisfaction.left_out) == (0, 1)
    assert (satisfaction.responded, satisfaction.invited) == (1, 3)


def _year_with_sessions(count: int, year: int):
    """`count` completed sessions of two trainees present throughout; returns their trainee-minutes."""
    trainer = factories.make_user("trainer")
    funder = factories.make_funder()
    minutes = 0
    for n in range(count):
        start = datetime(year, 1 + n, 7, 14, 0)
        session, enrolments = factories.make_attendance_session(
            trainees=2, trainers=[trainer], start=start, end=start + timedelta(days=3, hours=-1, minutes=-30),
            programme=factories.make_programme(title=f"Formation {year}-{n}", bpf_objective="adf"[n % 3],
                                               nsf_code=("", "332", "413")[n % 3], nsf_label="Spécialité"))
        _set(enrolments[1].trainee, category="job_seeker")
        _mark(session, trainer)
        _set(session, status="completed")
        factories.make_agreement(session, [enrolments[0]], funder=funder)
        factories.make_claim(funder, session, status="sent")
        survey = factories.make_survey(session, factories.make_questionnaire(anonymous=False),
                                       opens_at=session.slots[-1].starts_at,
                                       closes_at=session.slots[-1].starts_at + timedelta(days=14))
        factories.answer_survey(survey, enrolments[0].trainee, {1: 5, 2: "yes"})
        minutes += 2 * session.planned_minutes
    return minutes


def test_the_report_runs_the_same_number_of_statements_for_1_and_5_sessions():
    minutes = {2030: _year_with_sessions(1, 2030), 2032: _year_with_sessions(5, 2032)}
    counts = []
    for year, sessions in ((2030, 1), (2032, 5)):
        with factories.count_queries() as statements:
            report = annual_report.build(year)
        assert report.sessions == sessions and report.category_total.minutes == minutes[year]
        assert report.indicators.completed_sessions == sessions and report.revenue[0].cents > 0
        assert report.indicators.satisfaction.ratings == sessions
        assert sum(line.minutes for line in report.specialities) == minutes[year]
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("typed", ["abc", "0", "99999", "", "-1", "2030.5", " ", "1999", "2101", "²", "２０３０", pytest.param("1" * 5000, id="5000-digits")])
def test_a_bad_year_is_refused_in_french(typed):
    with pytest.raises(ServiceError) as refused:
        annual_report.check_year(typed)
    assert "Indiquez une année entre 2000 et 2100" in refused.value.message


def test_the_workbook_has_one_sheet_per_table_and_never_a_formula():
    trainer = factories.make_user("trainer")
    session, (enrolment,) = factories.make_attendance_session(
        trainees=1, trainers=[trainer], programme=factories.make_programme(title="=HYPERLINK(\"x\")"))
    _mark(session, trainer, {(enrolment.id, 0): ("late", {"arrival": t("14:15")})})

    import io
    workbook = load_workbook(io.BytesIO(annual_report.workbook_bytes(annual_report.build(2030))))

    assert workbook.sheetnames == ["Stagiaires", "Formations", "Objectifs", "Spécialités", "Formateurs", "Produits",
                                   "Indicateurs"]
    programmes = workbook["Formations"]
    assert programmes["A4"].value == "=HYPERLINK(\"x\")" and programmes["A4"].data_type == "s"
    assert programmes["D4"].value == pytest.approx(20.75)  # 21 h less 15 minutes
    trainees = workbook["Stagiaires"]
    assert [trainees.cell(row, 1).value for row in range(4, 9)] == [
        "Salarié·es d'employeurs privés ou publics", "Demandeur·euses d'emploi", "Particuliers à leurs propres frais",
        "Autres stagiaires", "Total"]
    assert (trainees["B8"].value, trainees["C8"].value) == (1, pytest.approx(20.75))
    assert (trainees["C8"].number_format, programmes["D4"].number_format) == ("0.00", "0.00")  # hours
    assert workbook["Produits"]["B4"].number_format == '#,##0.00 "€"'


def _one_trainee_claimed_with_travel(mode: str, price_cents: int | None):
    trainer = factories.make_user("trainer")
    session, (enrolment,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    _mark(session, trainer)
    _set(enrolment, funding_mode="opco", price_cents=price_cents)
    _set(session, status="completed")
    funder = factories.make_funder()
    factories.make_agreement(session, [enrolment], funder=funder, hourly_rate_cents=1500, mode=mode,
                             travel_agreed_cents=5000, travel_actual_cents=5000)
    claim = factories.make_claim(funder, session, status="sent")
    line = claim.snapshot["lines"][0]
    assert (line["pedagogical_cents"], line["annex_cents"], line["total_cents"]) == (21 * 1500, 5000, 21 * 1500 + 5000)
    return {key: cents for key, cents in ((r.key, r.cents) for r in annual_report.build(2030).revenue) if cents}


@pytest.mark.parametrize("mode, price_cents, revenue", [
    ("subrogation", 84000, {"opco": 21 * 1500 + 5000, "employer": 84000 - 21 * 1500}),
    ("reimbursement", 84000, {"employer": 84000}),
    ("reimbursement", None, {"employer": 21 * 1500}),  # no price (on request): the pedagogical costs, no travel
])
def test_annex_costs_are_revenue_in_subrogation_only(mode, price_cents, revenue):
    """Subrogation: the OPCO pays us the claim's line, its annex costs (travel) included, the employer the rest of
    the price. Reimbursement: the employer pays us the price and reclaims its own travel costs from the OPCO."""
    assert _one_trainee_claimed_with_travel(mode, price_cents) == revenue


def test_trainer_hours_count_only_the_half_days_that_took_place():
    """A session left open but never held (no sheet, no record), and the half-days still to come of a session
    under way, teach nothing; a half-day whose sheet was closed with nobody marked did take place."""
    from training_app.models.attendance import AttendanceSheet, SheetStatus
    trainer, idle, closing = (factories.make_user("trainer") for _ in range(3))
    programme = factories.make_programme(title="Négocier")
    held = factories.make_session(programme=programme, trainers=[trainer])
    factories.make_enrolment(held)
    _mark(held, trainer)                                                  # 21 h
    factories.make_session(programme=programme, trainers=[idle], start=datetime(2030, 6, 4, 14, 0),
                           end=datetime(2030, 6, 7, 12, 30))             # never held: 0 h
    under_way = factories.make_session(programme=programme, trainers=[closing], start=datetime(2030, 12, 10, 14, 0),
                                       end=datetime(2030, 12, 13, 12, 30))
    first = under_way.slots[0]                                            # Tue 14-18: closed, nobody enrolled
    db.session.add(AttendanceSheet(slot_id=first.id, status=SheetStatus.CLOSED, closed_at=datetime(2030, 12, 10, 18)))
    db.session.commit()

    with frozen_at(datetime(2030, 12, 11, 8, 0)):
        report = annual_report.build(2030)

    assert (report.trainers, report.trainer_minutes) == (2, 21 * 60 + 4 * 60)


def _revenue(report):
    return {line.key: line.cents for line in report.revenue if line.cents}


def test_an_enrolment_without_a_claim_counts_by_its_granted_agreement():
    """An OPCO reimbursing the employer: the employer pays us; only a subrogation agreement is OPCO money to come."""
    trainer = factories.make_user("trainer")
    session, (reimbursed, subrogated, requested) = factories.make_attendance_session(trainees=3, trainers=[trainer])
    for enrolment in (reimbursed, subrogated, requested):
        _set(enrolment, funding_mode="opco", price_cents=84000)
    _mark(session, trainer)
    funder = factories.make_funder()
    factories.make_agreement(session, [reimbursed], funder=funder, mode="reimbursement")
    factories.make_agreement(session, [subrogated], funder=funder, mode="subrogation")
    factories.make_agreement(session, [requested], funder=funder, mode="reimbursement", status="requested")

    assert _revenue(annual_report.build(2030)) == {"employer": 84000, "opco_not_claimed": 2 * 84000}


def test_a_session_over_that_nobody_attended_brings_no_revenue_and_no_line_and_is_pointed_out():
    trainer = factories.make_user("trainer")
    held, (came,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    _set(came, funding_mode="personal", price_cents=45000)
    _mark(held, trainer)
    empty, (a, b) = factories.make_attendance_session(
        trainees=2, trainers=[trainer], programme=factories.make_programme(title="Personne"),
        start=datetime(2030, 5, 7, 14, 0), end=datetime(2030, 5, 10, 12, 30))
    _set(a, funding_mode="employer", price_cents=84000)
    _set(b, funding_mode="personal", price_cents=45000)
    to_come = factories.make_session(start=datetime(2030, 12, 10, 14, 0), end=datetime(2030, 12, 13, 12, 30))
    _set(factories.make_enrolment(to_come), funding_mode="employer", price_cents=30000)

    with frozen_at(datetime(2030, 6, 1, 10, 0)):  # May's session is over, December's still to come
        report = annual_report.build(2030)

    assert _revenue(report) == {"personal": 45000, "employer": 30000}
    assert "Personne" not in [line.title for line in report.programmes]
    assert [(note.session_id, note.title, note.start) for note in report.unattended_sessions] == [
        (empty.id, "Personne", date(2030, 5, 7))]
    assert annual_report.unattended_notice(report).startswith("1 session terminée sans personne présente")


def test_billed_enrolments_without_a_price_are_listed_by_session():
    trainer = factories.make_user("trainer")
    session, (unpriced, reimbursed, priced) = factories.make_attendance_session(
        trainees=3, trainers=[trainer], programme=factories.make_programme(title="Sur demande"))
    _set(unpriced, funding_mode="employer", price_cents=None)
    _set(reimbursed, funding_mode="opco", price_cents=None)
    _set(priced, funding_mode="employer", price_cents=84000)
    _mark(session, trainer)
    _set(session, status="completed")
    funder = factories.make_funder()
    factories.make_agreement(session, [reimbursed], funder=funder, mode="reimbursement", hourly_rate_cents=1000)
    factories.make_claim(funder, session, status="sent")  # its line stands for the price: nothing missing

    report = annual_report.build(2030)

    assert _revenue(report) == {"employer": 84000 + 21 * 1000}
    assert [(note.session_id, note.count) for note in report.unpriced] == [(session.id, 1)]
    assert annual_report.unpriced_notice(report).startswith(
        "1 inscription facturée n'a pas de prix (« sur demande ») : elle compte pour 0,00\u202f€")
    assert annual_report.session_label(report.unpriced[0], enrolments=True) == (
        "Sur demande, session du 5 mars 2030 (1 inscription)")
    report.unpriced[0].count = 2
    assert "2 inscriptions facturées n'ont pas de prix (« sur demande ») : elles comptent pour 0,00\u202f€" \
        in annual_report.unpriced_notice(report)


def test_annex_costs_billed_in_subrogation_are_revenue_whatever_the_funder_answers():
    """Price 840 € and travel 50 € billed on the line: 890 € of revenue, only the payer changes."""
    trainer = factories.make_user("trainer")
    session, (enrolment,) = factories.make_attendance_session(trainees=1, trainers=[trainer])
    _set(enrolment, funding_mode="opco", price_cents=84000)
    _mark(session, trainer)
    _set(session, status="completed")
    funder = factories.make_funder()
    factories.make_agreement(session, [enrolment], funder=funder, hourly_rate_cents=1500,
                             travel_agreed_cents=5000, travel_actual_cents=5000)
    claim = factories.make_claim(funder, session, status="sent")
    assert _revenue(annual_report.build(2030)) == {"opco": 21 * 1500 + 5000, "employer": 84000 - 21 * 1500}
    _set(claim, status="balance_refused", paid_cents=20000)
    assert _revenue(annual_report.build(2030)) == {"opco": 20000, "opco_refused": 89000 - 20000}
    _set(claim, status="rejected", paid_cents=0)
    assert _revenue(annual_report.build(2030)) == {"opco_refused": 89000}


def test_the_table_by_programme_keeps_the_title_each_session_was_taught_under():
    from training_app.services import programmes as programme_service
    trainer = factories.make_user("trainer")
    programme = factories.make_programme(title="Ancien titre")
    before = _held_session(programme, datetime(2030, 3, 5, 14, 0), trainer,
                           [factories.make_trainee(), factories.make_trainee()])
    with frozen_at(datetime(2030, 4, 1, 10, 0)):  # renamed after the March session, before the June one
        programme_service.save_programme(programme, {"title": "Nouveau titre"},
                                         [objective.text for objective in programme.objectives])
        db.session.commit()
    _held_session(programme, datetime(2030, 6, 4, 14, 0), trainer, [factories.make_trainee()])

    report = annual_report.build(2030)

    assert before.taught_title == "Ancien titre"
    assert [(line.title, line.sessions, line.trainees) for line in report.programmes] == [
        ("Ancien titre", 1, 2), ("Nouveau titre", 1, 1)]
    assert report.programme_total.sessions == 2
