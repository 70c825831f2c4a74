"""Uniformation, the trainees' employers (associations and social services) and the trainees."""
from training_app.extensions import db
from training_app.models import Employer, Funder, Trainee

EMPLOYERS = [
    ("CCAS de Rennes", "78324521000001", "12 rue Saint-Hélier, 35000 Rennes"),
    ("Centre social Carrefour 18", "30124788000018", "7 rue d'Espagne, 35200 Rennes"),
    ("Association Habitat et Humanisme 35", "51203746000007", "3 rue de Paris, 35000 Rennes"),
    ("Maison de quartier de Villejean", "88401173000006", "2 rue de Bourgogne, 35000 Rennes"),
    ("Collectif Logement Bretagne", "26719305000007", "15 boulevard Villebois-Mareuil, 35000 Rennes"),
]

# civility, first name, last name, job, employer index (None: pays for themself)
TRAINEES = [
    ("Mme", "Awa", "Diallo", "Assistante sociale", 0),
    ("M.", "Julien", "Le Bihan", "Animateur socioculturel", 1),
    ("Mme", "Sophie", "Renaud", "Conseillère en économie sociale et familiale", 0),
    ("M.", "Karim", "Benali", "Coordinateur de projets", 2),
    ("Mme", "Nolwenn", "Guégan", "Éducatrice spécialisée", 1),
    ("Mme", "Fatou", "Ndiaye", "Médiatrice sociale", 3),
    ("M.", "Thomas", "Lefeuvre", "Chargé de mission habitat", 4),
    ("Mme", "Élise", "Morvan", "Directrice de centre social", 1),
    ("M.", "Yann", "Kerhervé", "Animateur", 3),
    ("Mme", "Leïla", "Haddad", "Travailleuse sociale", 0),
    ("M.", "Pierre", "Gautier", "Bénévole, trésorier associatif", None),
    ("Mme", "Marie", "Collet", "Chargée d'accueil", 2),
    ("M.", "Antoine", "Rolland", "Animateur jeunesse", 3),
    ("Mme", "Chloé", "Perrin", "Conseillère en insertion", 4),
    ("M.", "Hugo", "Lemaire", "Éducateur de prévention", 1),
    ("Mme", "Inès", "Barbier", "Assistante sociale", 0),
    ("M.", "Samuel", "Texier", "Agent de développement local", 2),
    ("Mme", "Margot", "Hamon", "Animatrice", 3),
    ("M.", "Bastien", "Riou", "Médiateur", 4),
    ("Mme", "Gaëlle", "Le Goff", "Coordinatrice", 1),
    ("M.", "Malik", "Traoré", "Animateur socioculturel", 0),
]


def demo_email(first: str, last: str) -> str:
    import unicodedata
    raw = f"{first}.{last}".lower().replace(" ", "-").replace("'", "")
    ascii_ = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    return f"{ascii_}@demo.example.org"


def seed() -> None:
    funder = db.session.scalar(db.select(Funder).where(Funder.name == "Uniformation"))
    if funder is None:
        funder = Funder(name="Uniformation", address="43 boulevard Diderot, 75012 Paris",
                        contact_name="Service financement", contact_email="financement@demo.uniformation.example",
                        accepts_annex_costs=True)
        db.session.add(funder)
    employers = []
    for name, siret, address in EMPLOYERS:
        employer = db.session.scalar(db.select(Employer).where(Employer.name == name))
        if employer is None:
            employer = Employer(name=name, siret=siret, address=address, funder=funder,
                                contact_name="Direction", contact_email=demo_email("direction", name[:12]))
            db.session.add(employer)
        employers.append(employer)
    for civility, first, last, job, employer_index in TRAINEES:
        email = demo_email(first, last)
        if db.session.scalar(db.select(Trainee.id).where(Trainee.email == email)) is None:
            db.session.add(Trainee(
                civility=civility, first_name=first, last_name=last, email=email, job_title=job,
                employer=employers[employer_index] if employer_index is not None else None,
                category="employee" if employer_index is not None else "individual"))
    db.session.flush()


def demo_trainees() -> list[Trainee]:
    """The demo trainees in the order of TRAINEES."""
    by_email = {t.email: t for t in db.session.scalars(db.select(Trainee))}
    return [by_email[demo_email(first, last)] for _c, first, last, _j, _e in TRAINEES]
