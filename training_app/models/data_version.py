from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from training_app.extensions import db


class DataVersion(db.Model):
    """Rows whose tokens together change with every committed change of the data: each writing transaction
    renews one of them (training_app/page_cache.py; up to DATA_VERSION_ROWS, the first made by the migration).

    The token is random, never a counter: a table emptied and filled again (tests) can never give
    back a token that was seen before.
    """

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
