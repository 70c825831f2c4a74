"""How things are shown in French: dates, times, hours, money and the labels of states."""
import math
import re
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.dates import format_date as babel_format_date
from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l

LABELS = {
    # roles
    "admin": _l("Administrateur·rice"), "trainer": _l("Formateur·rice"),
    # programme kinds
    "internal": _l("Interne (gratuite, adhérent·es)"), "external": _l("Externe (professionnel·les)"),
    # modalities
    "in_person": _l("Présentiel"), "remote": _l("À distance"), "mixed": _l("Mixte"),
    # session states
    "planned": _l("Planifiée"), "open": _l("Inscriptions ouvertes"), "full": _l("Complète"),
    "running": _l("En cours"), "completed": _l("Terminée"), "cancelled": _l("Annulée"),
    # enrolment states
    "requested": _l("Demandée"), "confirmed": _l("Confirmée"), "waitlisted": _l("Liste d'attente"),
    "withdrawn": _l("Abandon"),
    # what a trainee's own page says of an enrolment once its session is over (enrolments.trainee_state)
    "course_followed": _l("Formation suivie"), "ended_without_seat": _l("Terminée, sans place obtenue"),
    # trainee categories
    "employee": _l("Salarié·e"), "job_seeker": _l("Demandeur·se d'emploi"),
    "individual": _l("Particulier"), "other": _l("Autre"),
    # learning outcomes (évaluation des acquis)
    "acquired": _l("Acquis"), "partly_acquired": _l("Partiellement acquis"), "not_acquired": _l("Non acquis"),
    "not_assessed": _l("Non évalué"),
    # questionnaires: kinds and question types
    "positioning": _l("Positionnement (avant la formation)"), "satisfaction": _l("Satisfaction (à chaud)"),
    "follow_up": _l("Suivi (à froid)"),
    "rating": _l("Note de 1 à 5"), "single_choice": _l("Choix unique"), "multiple_choice": _l("Choix multiple"),
    "yes_no": _l("Oui / non"), "free_text": _l("Texte libre"),
}


_labels: dict[tuple[str, str], str] = {}  # (locale, value) -> translated label


def label(value) -> str:
    key = (str(get_locale()), str(value))
    if key not in _labels:
        _labels[key] = str(LABELS.get(key[1], value))
    return _labels[key]


def wait_fr(seconds: float) -> str:
    """A wait, rounded up (never shorter than it is): "1 minute", "12 minutes", "3 heures"."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 60:
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    hours_ = math.ceil(minutes / 60)
    return ngettext("%(num)d heure", "%(num)d heures", hours_)


def date_fr(value: date | datetime | None, fmt: str = "EEEE d MMMM y") -> str:
    """"mardi 11 décembre 2018"; fmt="short" gives "11/12/2018"."""
    if value is None:
        return ""
    if fmt == "short":
        return value.strftime("%d/%m/%Y")
    if isinstance(value, datetime):
        value = value.date()
    locale = get_locale()
    return _formatted_date(value, fmt, str(locale) if locale else None)


@lru_cache(maxsize=4096)
def _formatted_date(value: date, fmt: str, locale: str | None) -> str:
    """Babel's formatting is slow and lists show the same dates again and again."""
    if value.day == 1 and (locale or "").startswith("fr"):
        fmt = first_of_month(fmt)
    return babel_format_date(value, fmt, locale=locale)


def first_of_month(fmt: str) -> str:
    """A Babel date pattern that writes the first of the month as French does, "1er" ("mardi 1er décembre",
    "le 1er octobre 2018"): the day number "d" standing alone (not "dd", nor inside a quoted 'text') gets "er"."""
    parts = fmt.split("'")  # the even parts are the pattern, the odd ones quoted text
    for index in range(0, len(parts), 2):
        parts[index] = re.sub(r"(?<!d)d(?!d)", "d'er'", parts[index])
    return "'".join(parts)


def time_fr(value: time | datetime | None) -> str:
    """"9h30", "14h00"."""
    if value is None:
        return ""
    return f"{value.hour}h{value.minute:02d}"


def datetime_fr(value: datetime | None) -> str:
    """"11/12/2018 à 14h00" for local schedule times."""
    if value is None:
        return ""
    return f"{value:%d/%m/%Y} à {time_fr(value)}"


def utc_datetime_fr(value: datetime | str | None) -> str:
    """A stored UTC timestamp, shown in the local time zone; also one kept as ISO text in a snapshot
    (the versions of an attendance sheet)."""
    if not value:
        return ""
    from training_app.clock import to_local
    return datetime_fr(to_local(datetime.fromisoformat(value) if isinstance(value, str) else value))


def utc_date_fr(value: datetime | None, fmt: str = "EEEE d MMMM y") -> str:
    """date_fr() of a stored UTC timestamp, its day in the local time zone: edited at 00:30 in Paris on 15 June
    (22:30 UTC on the 14th), the 15th."""
    if value is None:
        return ""
    from training_app.clock import to_local
    return date_fr(to_local(value), fmt)


def hours(minutes: int | None) -> str:
    """420 -> "7 h", 210 -> "3 h 30"."""
    if minutes is None:
        return ""
    h, m = divmod(int(minutes), 60)
    return f"{h} h" if m == 0 else f"{h} h {m:02d}"


def cents_to_decimal(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# French typography: thousands are grouped, and "€" and "%" follow the number, after a narrow no-break space, so
# that an amount or a rate is never cut at the end of a line (pages, Word and Excel documents alike).
NNBSP = "\u202f"


def money(cents: int | None, on_request: str | None = None) -> str:
    """120000 -> "1 200,00 €" (both spaces narrow no-break ones, NNBSP); None -> "sur demande"."""
    if cents is None:
        return on_request or str(_l("Sur demande"))
    units, rest = divmod(abs(int(cents)), 100)
    grouped = f"{units:,}".replace(",", NNBSP)
    sign = "-" if cents < 0 else ""
    return f"{sign}{grouped},{rest:02d}{NNBSP}€"


def percent(value: int | None) -> str:
    """87 -> "87 %" (a narrow no-break space, NNBSP); None -> ""."""
    if value is None:
        return ""
    return f"{value}{NNBSP}%"


_VOWELS = frozenset("AEIOUÉÈÊËÀÂÄÎÏÔÖÛÜŒÆ" "aeiouéèêëàâäîïôöûüœæ")


def de(name) -> str:
    """"de" before a name, elided before a vowel as French requires: "d'Awa Diallo", "d'Élodie Le Goff",
    "d'Uniformation", "d'Yves" but "de Julien Le Bihan", "de Yasmine" (a y before a vowel is heard as a
    consonant). A mute h is not guessed (one says "d'Hélène" but "de Hollande"): a name starting with h keeps "de H…".
    None or an empty name gives "de". Messages say "Fiche %(of_name)s enregistrée." with of_name=de(name);
    templates write `trainee.full_name|de`."""
    text = "" if name is None else str(name)
    first, second = text[:1], text[1:2]
    if first in _VOWELS or (first in ("Y", "y") and second and second not in _VOWELS):
        return f"d'{text}"
    return f"de {text}".rstrip()


FILTERS = {
    "label": label, "date_fr": date_fr, "time_fr": time_fr, "datetime_fr": datetime_fr,
    "utc_datetime_fr": utc_datetime_fr, "hours": hours, "money": money, "percent": percent, "de": de,
    "utc_date_fr": utc_date_fr,
}
GLOBALS = {"label": label}
