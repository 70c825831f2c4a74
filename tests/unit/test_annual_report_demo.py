"""The demo's past session (December 2018) in the 2018 annual report: twelve trainees, the absent afternoon
deducted (11 × 21 h + 17 h = 248 h); the session cancelled in March 2019 counts only as cancelled."""
from training_app import demo
from training_app.services import annual_report


def test_the_demo_s_past_session_shows_in_its_year_s_report():
    demo.seed()

    report = annual_report.build(2018)

    assert report.sessions == 1 and report.category_total.trainees == 12
    assert report.category_total.minutes == (11 * 21 + 17) * 60
    lines = {line.key: (line.trainees, line.minutes) for line in report.categories}
    assert lines["employee"] == (11, (10 * 21 + 17) * 60) and lines["individual"] == (1, 21 * 60)
    [programme] = report.programmes
    assert programme.title == "Du dialogue à la négociation : quels moyens pour agir localement ?"
    assert (programme.sessions, programme.trainees, programme.minutes) == (1, 12, 248 * 60)
    assert [(line.key, line.label, line.trainees, line.minutes) for line in report.specialities] == [
        ("332", "Travail social", 12, 248 * 60)]  # the F-4 line
    assert [(line.key, line.trainees, line.minutes) for line in report.objectives] == [("d", 12, 248 * 60)]
    assert (report.trainers, report.trainer_minutes) == (2, 2 * 21 * 60)
    revenue = {line.key: line.cents for line in report.revenue}
    assert revenue["opco"] > 0 and revenue["personal"] == 84000 and revenue["opco_not_claimed"] == 0
    assert report.revenue_cents == 12 * 84000  # what the OPCO does not pay of a price, the employer does
    assert report.indicators.completed_sessions == 1 and report.indicators.completion_rate == 100
    assert report.indicators.satisfaction.ratings > 0 and report.indicators.satisfaction.rate is not None

    following = annual_report.build(2019)
    assert following.category_total.trainees == 0 and following.indicators.cancelled_sessions == 1
    assert 2018 in annual_report.years_with_sessions()


def test_a_demo_seeded_before_the_specialities_gets_its_reference_speciality_on_re_seed():
    from training_app.demo.catalogue import reference_programme
    from training_app.extensions import db
    demo.seed()
    programme = reference_programme()
    programme.nsf_code, programme.nsf_label = "", ""  # as migration 0018 leaves a demo seeded before
    db.session.commit()

    demo.seed()

    programme = reference_programme()
    assert (programme.bpf_objective, programme.nsf_code, programme.nsf_label) == ("d", "332", "Travail social")
