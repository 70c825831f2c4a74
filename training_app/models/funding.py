from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from training_app.extensions import db
from training_app.models.edit_version import EditVersionChecked


class Funder(EditVersionChecked, db.Model):
    """An OPCO (called OPCA before 2019), e.g. Uniformation."""

    __tablename__ = "funders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    accepts_annex_costs: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self) -> str:
        return f"<Funder {self.name}>"
