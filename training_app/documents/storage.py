"""Generated files and uploads live under STORAGE_DIR (never in the source tree).

Records keep the path relative to STORAGE_DIR, so the folder can move.
"""
import os
import uuid

from flask import current_app

from training_app import after_commit


def root() -> str:
    return current_app.config["STORAGE_DIR"]


def save(folder: str, filename: str, content: bytes, unique: bool = True) -> str:
    """Write `content` under STORAGE_DIR/folder and return its relative path."""
    safe_name = os.path.basename(filename).replace(" ", "_") or "fichier"
    if unique:
        safe_name = f"{uuid.uuid4().hex[:12]}-{safe_name}"
    relative = os.path.join(folder, safe_name)
    path = absolute(relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "xb" if unique else "wb") as handle:
        handle.write(content)
    return relative


def save_in_transaction(folder: str, filename: str, content: bytes) -> str:
    """save(), for a file that a row written in the current transaction names: the file is deleted if that
    transaction (or the savepoint it was written in) rolls back, so that no file is left that nothing names."""
    relative = save(folder, filename, content)
    after_commit.later("files_written", relative)
    return relative


def absolute(relative: str) -> str:
    base = os.path.realpath(root())
    path = os.path.realpath(os.path.join(base, relative))
    if not path.startswith(base + os.sep):
        raise ValueError("path outside the storage folder")
    return path


def read(relative: str) -> bytes:
    with open(absolute(relative), "rb") as handle:
        return handle.read()


def exists(relative: str) -> bool:
    return bool(relative) and os.path.exists(absolute(relative))


def delete_after_commit(paths) -> None:
    """Delete these stored files once the current transaction commits (the rows naming them are gone by then);
    none is deleted if it, or the savepoint they were named in, rolls back."""
    for relative in paths:
        if relative:
            after_commit.later("files_to_delete", relative)


def init_app(app) -> None:
    after_commit.listen(_delete_committed, _keep_rolled_back)


def _delete_committed(session) -> None:
    after_commit.done(session, "files_written")  # named by committed rows: kept
    _remove(after_commit.done(session, "files_to_delete"))


def _keep_rolled_back(session, rolled_back) -> None:
    after_commit.forget_rolled_back(session, rolled_back, "files_to_delete")
    _remove(after_commit.forget_rolled_back(session, rolled_back, "files_written"))


def _remove(paths) -> None:
    for relative in paths:
        try:
            os.remove(absolute(relative))
        except (OSError, ValueError):  # already gone, or not a stored file: nothing to delete
            pass
