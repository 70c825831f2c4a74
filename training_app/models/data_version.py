from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from training_app.extensions import db


class DataVersion(db.Model):
    """One row whose token changes with every committed change of the data (training_app/page_cache.py).

    The token is random, never a counter: a table emptied and filled again (tests) can never give
    back a token that was seen before.
    """

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
