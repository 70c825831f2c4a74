from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from training_app.extensions import db, dialect_insert
from training_app.models.edit_version import EditVersionChecked


class Organisation(EditVersionChecked, db.Model):
    """The training organisation running the app (one row): its identity on every document."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    siret: Mapped[str] = mapped_column(String(14), default="")
    declaration_number: Mapped[str] = mapped_column(String(40), default="")  # numéro de déclaration d'activité
    legal_representative: Mapped[str] = mapped_column(String(200), default="")
    signatory_name: Mapped[str] = mapped_column(String(200), default="")
    signatory_role: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")  # "Fait à ..."
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    accessibility_contact: Mapped[str] = mapped_column(Text, default="")
    vat_mention: Mapped[str] = mapped_column(Text, default="")
    # Paths relative to the storage folder (images uploaded on the settings page).
    signature_image: Mapped[str] = mapped_column(String(300), default="")
    stamp_image: Mapped[str] = mapped_column(String(300), default="")
    logo_image: Mapped[str] = mapped_column(String(300), default="")
    # The legal representative's signature, on the certificat de réalisation they sign, when they are not the
    # signatory of the attestations (whose signature is signature_image).
    legal_representative_signature_image: Mapped[str] = mapped_column(String(300), default="")

    @classmethod
    def get(cls) -> "Organisation":
        """The organisation row, created empty on first use with INSERT ... ON CONFLICT DO NOTHING: two first
        uses at once (each request found no row) both read the one row, the second waiting for the first's
        INSERT, instead of failing on the duplicate key."""
        org = db.session.get(cls, 1)
        if org is None:
            db.session.execute(dialect_insert()(cls).values(id=1).on_conflict_do_nothing(index_elements=[cls.id]))
            org = db.session.get(cls, 1)
        return org
