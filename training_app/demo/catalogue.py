"""The organisation, its staff and its catalogue, from the association's own pages."""
from training_app.extensions import db
from training_app.models import Cycle, Organisation, Programme, Role, TrainingSession, User
from training_app.services import programmes as programme_service

# Demo accounts: for the local demo only (seed-demo refuses to run in production).
ACCOUNTS = [
    ("admin@demo.sionsalliait.org", "Claire Bernard", Role.ADMIN, "demo-admin-2026"),
    ("camille@demo.sionsalliait.org", "Camille Le Gall", Role.TRAINER, "demo-formatrice-1"),
    ("ines@demo.sionsalliait.org", "Inès Moreau", Role.TRAINER, "demo-formatrice-2"),
]

REFERENCE_TITLE = "Du dialogue à la négociation : quels moyens pour agir localement ?"

REFERENCE = {
    "title": REFERENCE_TITLE,
    "kind": "external",
    "bpf_objective": "d", "nsf_code": "332", "nsf_label": "Travail social",  # BPF F-3 and F-4
    "rationale": (
        "Comment pourrions-nous être contre le « dialogue », surtout quand il est « social » ? Et dans le même "
        "temps, pourquoi avons-nous l'impression de nous faire avoir dès que ce mot sort du chapeau ? Et puis s'il "
        "faut en permanence que l'on dialogue, où est-ce que l'on négocie ? Dialogue partout, Négociation nulle "
        "part ?\n"
        "Le dialogue, c'est plusieurs personnes qui se mettent autour d'une même table et discutent d'un sujet "
        "convenu. Négocier, c'est lorsque l'on reconnaît qu'il y a asymétrie de pouvoir entre ces mêmes personnes, "
        "et que la table autour de laquelle on s'assoit est traversée par des intérêts divergents. Qu'on se le "
        "dise : on dialogue pour échanger des points de vue ; on négocie pour être entendu.\n"
        "Penser global, négocier local… C'est d'abord au niveau local qu'on se donne les meilleures chances "
        "d'obtenir ce que l'on veut, quand la personne qui décide est identifiable et que c'est elle qui a les "
        "moyens d'agir au sein de l'institution. Négocier ça s'apprend, et il n'est jamais trop tard.\n"
        "Si on s'alliait ? propose d'identifier collectivement l'ensemble des conditions qui facilitent la bonne "
        "conduite d'une négociation. De sa préparation à sa conclusion, en passant par l'analyse des enjeux et des "
        "leviers à notre disposition… Nous travaillerons à partir de situations concrètes et de jeux de mises en "
        "situation."
    ),
    "audience": (
        "Formation destinée à des professionnel.les souhaitant approfondir leurs pratiques et leur réflexion autour "
        "de la question de la négociation dans leur activité professionnelle en s'appuyant sur des valeurs de "
        "l'éducation populaire."
    ),
    "prerequisites": (
        "Il n'y a aucun prérequis nécessaire pour le suivi de la formation. En fonction de son parcours et de sa "
        "volonté, le ou la participant.e pourra suivre une, deux ou trois formations. Dans le dernier cas, un tarif "
        "spécifique lui sera accordé."
    ),
    "objectives": [
        "S'approprier des outils permettant de mener une négociation raisonnée et victorieuse",
        "Élargir son panel de techniques de négociation",
        "Prendre en compte une éventuelle inégalité de pouvoir/place des différentes parties",
        "Identifier quels sont les préalables à une bonne négociation et les manières de maîtriser son cadre",
        "Travailler les postures et la répartition des rôles lors d'une négociation",
        "Savoir comment réaliser le suivi d'une négociation",
    ],
    "content": (
        "Partir de l'intérêt de l'ensemble des parties liées à la négociation. Resituer la négociation dans un jeu "
        "de rapports de force et de pouvoirs éventuellement déséquilibrés. Se positionner « à côté » pour "
        "construire des solutions satisfaisantes « avec ». Préparer une négociation et réaliser son suivi. Classer "
        "les typologies d'arguments rhétoriques. Identifier les postures adéquates. Réaliser une négociation par "
        "des jeux de mise en situation. Acquérir des apports théoriques."
    ),
    "competencies": (
        "Maîtriser les outils et la technique de la négociation raisonnée (cf. William Ury, Roger Fisher, Bruce "
        "Patton, Comment réussir une négociation ?, Éditions du Seuil)\n"
        "Préparer une négociation et créer un cadre favorable à un réel dialogue voire une véritable négociation "
        "entre des habitant.es et des élu.es ou des responsables d'administration, en prenant en compte "
        "l'inégalité des pouvoirs/places\n"
        "Lors d'une négociation, adopter une posture adéquate et adaptée à chaque interlocuteur/interlocutrice et à "
        "chaque problématique abordée ; connaître une typologie d'arguments ; se répartir les rôles ; travailler la "
        "place des témoignages\n"
        "Réaliser le suivi d'une négociation"
    ),
    "teaching_methods": (
        "Durant ce stage, seront privilégiées les méthodes de pédagogies actives. Viendront ainsi s'alterner des "
        "temps de travail en grand groupe et en petits groupes qui s'adapteront aux besoins des stagiaires : "
        "groupes d'interviews mutuelles, débats mouvants, jeux brise-glace, jeux de rôle… Ces outils d'animation "
        "participatifs sont issus de l'éducation populaire et permettent la valorisation des expériences et des "
        "savoirs de chaque stagiaire, tout en étant complétés par les apports des formatrices.\n"
        "Spécifiquement pour ce stage, des jeux de rôle sur différentes situations de négociation seront mis en "
        "place. Matériel : salles de travail et cuisine, vidéoprojecteur, écran, ordinateur, paperboard, coin "
        "ressources (brochures, revues, livres, DVD, fiche bibliographique « pour aller plus loin »)."
    ),
    "evaluation_methods": (
        "Au quotidien, une feuille d'émargement sera signée par les stagiaires, et des points d'étape seront "
        "proposés oralement pour faire le point avec le groupe. En fin de stage un bilan final oral sera "
        "collectivement réalisé. Un questionnaire individuel sera également remis aux stagiaires visant d'une part "
        "à recueillir leurs ressentis sur la formation, et d'autre part à mieux identifier ce que leur a apporté "
        "celle-ci. Enfin, une attestation individuelle de fin de formation indiquant les compétences "
        "professionnelles acquises pendant la formation est délivrée à chacun des stagiaires."
    ),
    "default_duration_minutes": 21 * 60,
    "default_capacity": 15,
    "price_cents": None,  # « Les frais pédagogiques et les frais annexes sont à discuter. »
    "accessibility_contact": (
        "Référente handicap : Claire Bernard, sionsalliait@gmail.com. Les locaux sont de plain-pied ; contactez-"
        "nous avant l'inscription pour adapter la formation à vos besoins."
    ),
    "access_delay": (
        "Inscription par courriel (sionsalliait@gmail.com) ou sur ce site jusqu'à 10 jours avant le début de la "
        "session, dans la limite des places disponibles ; réponse sous 48 h (jours ouvrés). Pour une prise en "
        "charge par votre OPCO, prévoyez un mois entre la demande de financement et le début de la formation."
    ),
}

OTHER_PROGRAMMES = [
    {
        "title": "Les techniques de mobilisation : aller-vers, porte-à-porte, tête-à-tête",
        "kind": "external",
        "audience": "Professionnel.les, étudiant.es ou bénévoles d'autres associations.",
        "prerequisites": "Aucun prérequis.",
        "objectives": ["Connaître les techniques de l'aller-vers et de l'immersion",
                       "Préparer et mener une séance de porte-à-porte",
                       "Conduire un tête-à-tête pour identifier les colères et les intérêts"],
        "default_duration_minutes": 14 * 60, "default_capacity": 15, "price_cents": 56000,
    },
    {
        "title": "Les stratégies d'actions collectives non violentes",
        "kind": "external",
        "audience": "Professionnel.les, étudiant.es ou bénévoles d'autres associations.",
        "prerequisites": "Aucun prérequis.",
        "objectives": ["Choisir une action au regard de ses enjeux symboliques et stratégiques",
                       "Organiser une action directe non violente",
                       "Médiatiser une campagne citoyenne d'interpellation"],
        "default_duration_minutes": 14 * 60, "default_capacity": 15, "price_cents": 56000,
    },
    {
        "title": "Histoire et principes de l'organisation communautaire",
        "kind": "internal",
        "audience": "Allié.es concerné.es par une injustice sociale, allié.es soutiens et solidaires.",
        "prerequisites": "Aucun prérequis.",
        "objectives": ["Connaître l'histoire de l'organisation communautaire depuis Saul Alinsky",
                       "Comprendre les notions de pouvoir, d'intérêt et de conflit",
                       "Situer les quatre marches : colères, revendications, actions, négociation"],
        "default_duration_minutes": 7 * 60, "default_capacity": 20, "price_cents": 0,
    },
]

ORGANISATION = {
    "name": "Si on s'alliait ?",
    "address": "4 rue du Bourbonnais\n35000 Rennes",
    "siret": "44195127000004",            # demo value
    "declaration_number": "53350999935",  # demo value (numéro de déclaration d'activité)
    "legal_representative": "Claire Bernard",
    "signatory_name": "Claire Bernard",
    "signatory_role": "Co-présidente",
    "city": "Rennes",
    "email": "sionsalliait@gmail.com",
    "phone": "02 99 00 00 00",
    "accessibility_contact": "Claire Bernard, référente handicap — sionsalliait@gmail.com",
    "vat_mention": "TVA non applicable, article 261-4-4° du CGI (formation professionnelle continue).",
}


def seed() -> None:
    organisation = Organisation.get()
    if not organisation.name:
        for key, value in ORGANISATION.items():
            setattr(organisation, key, value)
    for email, name, role, password in ACCOUNTS:
        if db.session.scalar(db.select(User.id).where(User.email == email)) is None:
            user = User(email=email, name=name, role=role, active=True)
            user.set_password(password)
            db.session.add(user)
    cycle = db.session.scalar(db.select(Cycle).where(Cycle.name == "Agir collectivement"))
    if cycle is None:
        cycle = Cycle(name="Agir collectivement", special_price_cents=45000,
                      description="Trois formations externes ; tarif spécifique pour qui suit les trois.")
        db.session.add(cycle)
        db.session.flush()
    for spec in [REFERENCE, *OTHER_PROGRAMMES]:
        if programme_titled(spec["title"]) is None:
            data = {k: v for k, v in spec.items() if k != "objectives"}
            if spec["kind"] == "external":
                data["cycle_id"] = cycle.id
            data.setdefault("accessibility_contact", REFERENCE["accessibility_contact"])
            data.setdefault("teaching_methods", "Pédagogies actives issues de l'éducation populaire.")
            data.setdefault("evaluation_methods", "Feuille d'émargement, bilan oral, questionnaire individuel.")
            programme_service.save_programme(None, data, spec["objectives"])
    reference = reference_programme()
    if not reference.access_delay:  # a demo seeded before the access delays were kept
        reference.access_delay = REFERENCE["access_delay"]
    if not reference.nsf_code:  # a demo seeded before the BPF specialities were kept
        reference.nsf_code, reference.nsf_label = REFERENCE["nsf_code"], REFERENCE["nsf_label"]


def reference_programme() -> Programme:
    return programme_titled(REFERENCE_TITLE)


def programme_titled(title: str) -> Programme | None:
    """The demo's programme of this title, also once the office has renamed it: its sessions that had started
    keep the title they were taught under (so a second `seed-demo` finds it rather than making another)."""
    return db.session.scalar(db.select(Programme).where(Programme.title == title)) or db.session.scalar(
        db.select(Programme).join(TrainingSession, TrainingSession.programme_id == Programme.id)
        .where(TrainingSession.taught_title == title).order_by(Programme.id).limit(1))
