"""Work that must happen only once the current transaction commits (an e-mail sent, a file deleted), and
never if it rolls back: each piece is kept in the session with the transaction or savepoint it was asked
in, and dropped when that one (or one around it) rolls back (forget_rolled_back hands the dropped pieces over:
a file written for the rolled-back rows is deleted then, see documents/storage.save_in_transaction)."""
from sqlalchemy import event

from training_app.extensions import db


def later(key: str, item) -> None:
    """Keep `item` under `key` until the current transaction commits (then `done(key)` hands it over)."""
    session = db.session()
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(key, []).append((item, transaction))


def done(session, key: str) -> list:
    """At the commit: the items kept under `key`, in order, and forgotten."""
    return [item for item, _transaction in session.info.pop(key, [])]


def forget_rolled_back(session, rolled_back, key: str) -> list:
    """At a rollback: drop the items asked in the transaction or savepoint rolled back (those asked before a
    savepoint still wait for the commit); returns the items dropped, in order."""
    kept = session.info.get(key)
    if not kept:
        return []
    session.info[key] = [entry for entry in kept if not _within(entry[1], rolled_back)]
    return [item for item, transaction in kept if _within(transaction, rolled_back)]


def _within(transaction, ancestor) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def listen(on_commit, on_rollback) -> None:
    event.listen(db.session, "after_commit", on_commit)
    event.listen(db.session, "after_soft_rollback", on_rollback)
