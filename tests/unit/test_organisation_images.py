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
