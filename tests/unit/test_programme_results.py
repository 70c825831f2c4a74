"""A programme's public results (Qualiopi indicator 2), from hand-built data: which sessions count, the people
trained, completion, satisfaction (anonymous questionnaires only once closed with enough answers, no rate on
fewer than three ratings), the period and its fallback, and a constant number of statements."""
from datetime import date, datetime, timedelta

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.services import annual_report, attendance, programme_results
from training_app.services.surveys import QuestionData

AFTER_2030 = datetime(2031, 2, 1, 10, 0)


def _set(obj, **values):
    """Test data: attributes set as they are (a state reached by the rules elsewhere)."""
    for name, value in values.items():
        setattr(obj, name, value)
    db.session.commit()
    return obj


def _mark(session, trainer, enrolments, special=None):
    """Each of `enrolments` present on every half-day of `session`, but `special`: {(enrolment id, slot index):
    status}; a status None leaves the half-day without a record. Through the attendance rules."""
    special = special or {}
    for index, slot in enumerate(session.slots):
        with frozen_at(slot.starts_at + timedelta(minutes=10)):
            for enrolment in enrolments:
                status = special.get((enrolment.id, index), "present")
                if status is not None:
                    attendance.mark(slot, enrolment, status, actor=trainer)
        db.session.commit()


def _session(programme, start: datetime, trainees: int, trainer, **fields):
    """A session of `programme` from Tuesday `start` 14:00 to Friday 12:30 (6 half-days), its trainees
    confirmed and present throughout."""
    session = factories.make_session(programme=programme, start=start, end=start + timedelta(days=3, hours=-1.5),
                                     trainers=[trainer], **fields)
    enrolments = [factories.make_enrolment(session) for _ in range(trainees)]
    _mark(session, trainer, enrolments)
    return session, enrolments


def _rating_questionnaire(anonymous: bool):
    return factories.make_questionnaire([QuestionData("rating", "Comment avez-vous trouvé la formation ?"),
                                         QuestionData("free_text", "Un commentaire ?", required=False)],
                                        anonymous=anonymous)


def _survey(session, enrolments, ratings, anonymous=False):
    """A satisfaction questionnaire given on the session's last day for two weeks, answered by the first
    trainees with `ratings`."""
    survey = factories.make_survey(session, _rating_questionnaire(anonymous),
                                   opens_at=session.end_at.replace(hour=9, minute=30),
                                   closes_at=session.end_at + timedelta(days=14))
    for enrolment, rating in zip(enrolments, ratings):
        factories.answer_survey(survey, enrolment.trainee, {1: rating})
    return survey


def test_results_count_the_sessions_over_and_their_people_completion_and_satisfaction():
    trainer = factories.make_user("trainer")
    programme = factories.make_programme(title="Négocier")
    # Over (Tue 5 - Fri 8 March 2030), four trainees: one withdraws on Wednesday after attending Tuesday, one
    # is absent throughout (confirmed, never came: in neither completion nor the people trained), two present.
    over = factories.make_session(programme=programme, trainers=[trainer])
    withdrawn, absent, present, other = (factories.make_enrolment(over) for _ in range(4))
    _mark(over, trainer, [withdrawn, absent, present, other],
          {**{(withdrawn.id, i): None for i in range(1, 6)},
           **{(absent.id, i): "absent_unjustified" for i in range(6)}})
    _set(withdrawn, status="withdrawn", withdrawn_on=date(2030, 3, 6))
    _survey(over, [present, other, absent], [5, 4, 2])  # named: 2 of 3 ratings satisfied
    # Over, with an anonymous questionnaire closed on two answers only: its ratings are not counted.
    small, small_enrolments = _session(programme, datetime(2030, 5, 7, 14, 0), 3, trainer)
    _survey(small, small_enrolments[:2], [1, 1], anonymous=True)
    # Not over on 1 February 2031: counts for nothing (its trainee attended, its withdrawal and its ratings).
    later, later_enrolments = _session(programme, datetime(2031, 2, 4, 14, 0), 1, trainer)
    factories.make_enrolment(later, status="withdrawn")
    _survey(later, later_enrolments, [1])
    # Cancelled after its half-days were marked: counts for nothing.
    cancelled, _ = _session(programme, datetime(2030, 6, 4, 14, 0), 3, trainer)
    factories.make_enrolment(cancelled, status="withdrawn")
    _set(cancelled, status="cancelled")
    # Another programme's session: not this programme's results.
    _session(factories.make_programme(title="Autre"), datetime(2030, 9, 3, 14, 0), 5, trainer)

    with frozen_at(datetime(2031, 2, 2, 10, 0)):  # Sunday: the February session starts on Tuesday
        results = programme_results.results(programme.id)
        db.session.commit()

    assert (results.sessions, results.trainees) == (2, 3 + 3)  # the withdrawn trainee attended; the absent did not
    assert results.completion_rate == 83  # went to the end 2 + 3, withdrawn 1: 5 / 6 (the absent never came)
    assert (results.ratings, results.respondents, results.satisfaction_rate) == (3, 3, 67)
    assert (results.since, results.recent) == (2028, True)


def test_a_session_marked_completed_counts_before_its_last_day_has_passed():
    trainer = factories.make_user("trainer")
    programme = factories.make_programme()
    session, _ = _session(programme, datetime(2030, 3, 5, 14, 0), 2, trainer)
    with frozen_at(datetime(2030, 3, 8, 11, 0)):  # the last half-day is running
        assert programme_results.results(programme.id) is None  # "Première session à venir"
        _set(session, status="completed")
        assert programme_results.results(programme.id).sessions == 1


def test_an_anonymous_questionnaire_counts_once_closed_with_enough_answers():
    trainer = factories.make_user("trainer")
    programme = factories.make_programme()
    session, enrolments = _session(programme, datetime(2030, 3, 5, 14, 0), 4, trainer)
    survey = _survey(session, enrolments, [5, 5, 4, 1], anonymous=True)

    with frozen_at(survey.closes_at - timedelta(hours=1)):  # the session is over, the questionnaire still open
        results = programme_results.results(programme.id)
    assert (results.sessions, results.ratings, results.satisfaction_rate) == (1, 0, None)
    with frozen_at(survey.closes_at + timedelta(hours=1)):  # closed: its pending answers are released
        results = programme_results.results(programme.id)
        db.session.commit()
    assert (results.ratings, results.respondents, results.satisfaction_rate) == (4, 4, 75)


def test_a_named_questionnaire_answered_by_fewer_than_three_is_not_published():
    """The staff see who answered a named questionnaire; the public must not read one trainee's ratings."""
    trainer = factories.make_user("trainer")
    programme = factories.make_programme()
    session, enrolments = _session(programme, datetime(2030, 3, 5, 14, 0), 3, trainer)
    _survey(session, enrolments, [5, 5])
    _survey(session, enrolments[:1], [5, 2])  # one trainee, two ratings

    with frozen_at(AFTER_2030):
        results = programme_results.results(programme.id)

    assert (results.ratings, results.respondents, results.satisfaction_rate) == (0, 0, None)
    assert (results.sessions, results.trainees, results.completion_rate) == (1, 3, 100)


def test_a_named_questionnaire_counts_once_closed_not_while_answers_arrive():
    trainer = factories.make_user("trainer")
    programme = factories.make_programme()
    session, enrolments = _session(programme, datetime(2030, 3, 5, 14, 0), 4, trainer)
    survey = _survey(session, enrolments[:3], [5, 4, 1])

    with frozen_at(survey.closes_at - timedelta(hours=1)):  # over, the questionnaire still open
        assert programme_results.results(programme.id).satisfaction_rate is None
    with frozen_at(survey.closes_at + timedelta(minutes=1)):
        results = programme_results.results(programme.id)
    assert (results.ratings, results.respondents, results.satisfaction_rate) == (3, 3, 67)


def test_the_period_is_the_last_three_years_and_this_one_else_the_whole_history():
    trainer = factories.make_user("trainer")
    programme = factories.make_programme()
    _session(programme, datetime(2024, 3, 5, 14, 0), 2, trainer)
    _session(programme, datetime(2030, 3, 5, 14, 0), 3, trainer)

    with frozen_at(datetime(2030, 6, 1, 10, 0)):  # this year so far: 2027 to today
        results = programme_results.results(programme.id)
    assert (results.since, results.recent, results.sessions, results.trainees) == (2027, True, 1, 3)
    with frozen_at(datetime(2027, 1, 10, 10, 0)):  # the first session ended in 2024, within 2024 to today
        results = programme_results.results(programme.id)
    assert (results.since, results.recent, results.sessions, results.trainees) == (2024, True, 1, 2)
    with frozen_at(datetime(2034, 1, 10, 10, 0)):  # none since 2031: since the first session (2024)
        results = programme_results.results(programme.id)
    assert (results.since, results.recent, results.sessions, results.trainees) == (2024, False, 2, 5)


def test_a_programme_without_any_session_over_has_no_results():
    programme = factories.make_programme()
    factories.make_session(programme=programme)  # March 2030
    with frozen_at(datetime(2030, 1, 10, 10, 0)):
        assert programme_results.results(programme.id) is None


def test_a_session_over_that_nobody_attended_is_not_a_session_held():
    programme = factories.make_programme()
    factories.make_session(programme=programme)  # March 2030, nobody enrolled: typed in, never held
    with frozen_at(datetime(2030, 6, 10, 10, 0)):
        assert programme_results.results(programme.id) is None


def test_the_figures_are_the_annual_report_s_for_the_same_sessions():
    trainer = factories.make_user("trainer")
    programme = factories.make_programme()
    session, enrolments = _session(programme, datetime(2030, 3, 5, 14, 0), 3, trainer)
    _set(enrolments[0], status="withdrawn", withdrawn_on=date(2030, 3, 7))
    _survey(session, enrolments, [5, 3, 4])
    _survey(session, enrolments, [4, 4, 2])

    with frozen_at(AFTER_2030):
        report = annual_report.build(2030).indicators
        results = programme_results.results(programme.id)

    assert results.completion_rate == report.completion_rate == 67
    assert (results.ratings, results.satisfaction_rate) == (report.satisfaction.ratings, report.satisfaction.share)
    assert (results.ratings, results.satisfaction_rate) == (6, 67)


def test_a_person_who_followed_two_sessions_is_one_person_trained_on_the_public_page():
    """"Stagiaires formé·es" counts people; the annual report's tables count a person once per session followed
    (as the BPF does)."""
    trainer = factories.make_user("trainer")
    programme = factories.make_programme()
    first, (awa, _other) = _session(programme, datetime(2030, 3, 5, 14, 0), 2, trainer)
    second = factories.make_session(programme=programme, start=datetime(2030, 5, 14, 14, 0),
                                    end=datetime(2030, 5, 17, 12, 30), trainers=[trainer])
    _mark(second, trainer, [factories.make_enrolment(second, awa.trainee)])
    with frozen_at(AFTER_2030):
        report = annual_report.build(2030)
        results = programme_results.results(programme.id)
    assert (results.sessions, results.trainees) == (2, 2)
    assert report.programmes[0].trainees == 3


def _withdraw_after_the_first_half_day_and_never_come(session, trainer, trainees: int):
    """`trainees` confirmed in `session`: the first withdraws on Wednesday after attending Tuesday, the second is
    absent from every half-day (never came), the others present throughout. Returns the enrolments."""
    enrolments = [factories.make_enrolment(session) for _ in range(trainees)]
    withdrawn, absent = enrolments[:2]
    _mark(session, trainer, enrolments, {**{(withdrawn.id, i): None for i in range(1, 6)},
                                         **{(absent.id, i): "absent_unjustified" for i in range(6)}})
    _set(withdrawn, status="withdrawn", withdrawn_on=session.start_at.date() + timedelta(days=1))
    return enrolments


def test_completion_counts_neither_a_session_never_held_nor_a_trainee_who_never_came():
    trainer = factories.make_user("trainer")
    programme = factories.make_programme()
    held = factories.make_session(programme=programme, trainers=[trainer])  # 5-8 March 2030
    _withdraw_after_the_first_half_day_and_never_come(held, trainer, 5)  # 3 to the end, 1 withdrawn, 1 never came
    # Over in May, nobody attended: not held; its trainees, confirmed or withdrawn, count for nothing.
    not_held, _ = _session(programme, datetime(2030, 5, 7, 14, 0), 0, trainer)
    for _n in range(8):
        factories.make_enrolment(not_held)
    factories.make_enrolment(not_held, status="withdrawn")

    with frozen_at(AFTER_2030):
        results = programme_results.results(programme.id)
        report = annual_report.build(2030)

    assert (results.sessions, results.trainees, results.completion_rate) == (1, 4, 75)
    indicators = report.indicators
    assert (indicators.completed_sessions, indicators.confirmed, indicators.withdrawn, indicators.never_came) == (
        1, 3, 1, 1)
    assert (indicators.completion_rate, indicators.dropout_rate) == (75, 25)
    assert ("Stagiaires confirmé·es jamais venu·es (hors taux)", 1, False) in annual_report.indicator_rows(report)


def test_the_public_completion_rate_counts_only_sessions_of_at_least_three_trainees():
    """As the public satisfaction rate counts only questionnaires with three respondents: the rate of a group of
    two, or what its session changes to the programme's rate, would tell that one known trainee dropped out."""
    trainer = factories.make_user("trainer")
    programme = factories.make_programme()
    _session(programme, datetime(2030, 3, 5, 14, 0), 3, trainer)  # three to the end
    small = factories.make_session(programme=programme, start=datetime(2030, 5, 7, 14, 0),
                                   end=datetime(2030, 5, 10, 12, 30), trainers=[trainer])
    # one withdrawn, one who never came (not one of the group), one to the end: a group of two
    _withdraw_after_the_first_half_day_and_never_come(small, trainer, 3)

    with frozen_at(AFTER_2030):
        results = programme_results.results(programme.id)
        report = annual_report.build(2030).indicators
        internal = annual_report.results_of_sessions({session_id for session_id, _day
                                                      in programme_results.over_sessions(programme.id)})

    assert (results.sessions, results.trainees, results.completion_rate) == (2, 5, 100)  # the small one left out
    assert report.completion_rate == internal.indicators.completion_rate == 80  # the office's figures: 4 / 5

    alone = factories.make_programme()
    small = factories.make_session(programme=alone, start=datetime(2030, 9, 3, 14, 0),
                                   end=datetime(2030, 9, 6, 12, 30), trainers=[trainer])
    _withdraw_after_the_first_half_day_and_never_come(small, trainer, 3)
    with frozen_at(AFTER_2030):
        results = programme_results.results(alone.id)
    assert (results.sessions, results.trainees, results.completion_rate) == (1, 2, None)


def test_statements_do_not_grow_with_the_number_of_sessions():
    counts = []
    for size in (1, 5):
        trainer, programme = factories.make_user("trainer"), factories.make_programme()
        for n in range(size):
            session, enrolments = _session(programme, datetime(2030, 1, 1, 14, 0) + timedelta(weeks=n), 3, trainer)
            _survey(session, enrolments, [5, 4, 3], anonymous=True)  # pending answers, released when counted
            _survey(session, enrolments, [5, 4, 3], anonymous=False)
        with frozen_at(AFTER_2030), factories.count_queries() as statements:
            results = programme_results.results(programme.id)
        db.session.commit()
        assert (results.sessions, results.trainees, results.ratings) == (size, 3 * size, 6 * size)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_no_public_rate_on_fewer_than_three_ratings_even_with_three_respondents():
    """The rating question is optional: three people responded, one rated. A rate would be that person's rating."""
    trainer = factories.make_user("trainer")
    programme = factories.make_programme(title="Négocier")
    session, enrolments = _session(programme, datetime(2030, 3, 5, 14, 0), 3, trainer)
    questionnaire = factories.make_questionnaire(
        [QuestionData("rating", "Comment avez-vous trouvé la formation ?", required=False),
         QuestionData("yes_no", "La recommanderiez-vous ?")], anonymous=True)
    survey = factories.make_survey(session, questionnaire, opens_at=session.end_at.replace(hour=9, minute=30),
                                   closes_at=session.end_at + timedelta(days=14))
    factories.answer_survey(survey, enrolments[0].trainee, {1: 1, 2: "no"})  # the only rating
    factories.answer_survey(survey, enrolments[1].trainee, {2: "yes"})
    factories.answer_survey(survey, enrolments[2].trainee, {2: "yes"})
    with frozen_at(AFTER_2030):
        results = programme_results.results(programme.id)
    assert (results.ratings, results.respondents, results.satisfaction_rate) == (1, 3, None)


def test_a_trainee_answering_two_satisfaction_questionnaires_is_one_person_in_the_report_and_the_public_page():
    """Invited and respondents are (trainee, session) pairs; the anonymity threshold stays per questionnaire."""
    trainer = factories.make_user("trainer")
    programme = factories.make_programme()
    session, enrolments = _session(programme, datetime(2030, 3, 5, 14, 0), 5, trainer)
    _survey(session, enrolments[:3], [5, 4, 2])
    _survey(session, enrolments[:3], [5, 5, 1])
    _survey(session, [enrolments[3], enrolments[0]], [1, 1])  # two respondents: not shown to the public

    with frozen_at(AFTER_2030):
        results = programme_results.results(programme.id)
        report = annual_report.build(2030)
        db.session.commit()

    assert (results.respondents, results.ratings, results.satisfaction_rate) == (3, 6, 67)  # 5 4 5 5 of 6
    satisfaction = report.indicators.satisfaction
    assert (satisfaction.responded, satisfaction.invited, satisfaction.rate) == (4, 5, 80)
    assert (satisfaction.ratings, satisfaction.counted_responded, satisfaction.left_out) == (8, 4, 0)
    assert ("Stagiaires ayant répondu / interrogé·es", "4 / 5", False) in annual_report.indicator_rows(report)
