"""The organisation's images are stored with the transaction that names them: rolled back, no file is left."""
import io
import os

from PIL import Image
from werkzeug.datastructures import FileStorage

from tests import factories
from training_app.documents import storage
from training_app.extensions import db
from training_app.models import Organisation
from training_app.services import organisation as organisation_service


def _png() -> FileStorage:
    out = io.BytesIO()
    Image.new("RGB", (60, 20), "red").save(out, format="PNG")
    return FileStorage(io.BytesIO(out.getvalue()), filename="image.png")


def _stored() -> list[str]:
    folder = os.path.join(storage.root(), "organisation")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_images_saved_in_a_transaction_rolled_back_leave_no_file():
    factories.make_organisation()
    db.session.commit()
    before = _stored()
    organisation_service.set_images({"stamp_image": _png(), "logo_image": _png()})
    organisation = Organisation.get()
    written = [organisation.stamp_image, organisation.logo_image]
    assert all(storage.exists(path) for path in written)
    db.session.rollback()
    assert _stored() == before and not any(storage.exists(path) for path in written)
    assert (Organisation.get().stamp_image, Organisation.get().logo_image) == ("", "")


def test_an_image_saved_in_a_savepoint_rolled_back_leaves_no_file_and_the_committed_one_stays():
    factories.make_organisation()
    organisation_service.set_image("signature_image", _png())
    kept = Organisation.get().signature_image
    savepoint = db.session.begin_nested()
    organisation_service.set_image("stamp_image", _png())
    dropped = Organisation.get().stamp_image
    savepoint.rollback()
    assert not storage.exists(dropped) and storage.exists(kept)
    db.session.commit()
    assert storage.exists(kept) and Organisation.get().signature_image == kept


def test_an_image_replaced_then_removed_leaves_no_file_once_committed():
    """A signature or a stamp is personal data: the file replaced, then the one removed, is deleted at the commit."""
    factories.make_organisation()
    db.session.commit()
    before = _stored()
    organisation_service.set_image("signature_image", _png())
    db.session.commit()
    first = Organisation.get().signature_image
    organisation_service.set_image("signature_image", _png())
    assert storage.exists(first)  # still named by the stored row until the commit
    db.session.commit()
    second = Organisation.get().signature_image
    assert not storage.exists(first) and storage.exists(second)
    organisation_service.remove_image("signature_image")
    db.session.commit()
    assert Organisation.get().signature_image == "" and not storage.exists(second)
    assert _stored() == before


def test_an_image_replaced_or_removed_in_a_transaction_rolled_back_keeps_its_file():
    factories.make_organisation()
    organisation_service.set_image("stamp_image", _png())
    db.session.commit()
    kept = Organisation.get().stamp_image
    organisation_service.set_image("stamp_image", _png())
    replacement = Organisation.get().stamp_image
    db.session.rollback()
    assert storage.exists(kept) and not storage.exists(replacement)
    organisation_service.remove_image("stamp_image")
    db.session.rollback()
    savepoint = db.session.begin_nested()
    organisation_service.remove_image("stamp_image")
    savepoint.rollback()
    db.session.commit()  # the removal rolled back with its savepoint: nothing to delete
    assert Organisation.get().stamp_image == kept and storage.exists(kept)
