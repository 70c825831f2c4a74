"""Signatures drawn on a pad and the organisation's images are stored re-encoded (documents/images.py), never as
they came: the first frame of an animated PNG, nothing after IEND, 8-bit, not interlaced, no text, EXIF or other
ancillary chunk; a JPEG logo stays a JPEG without its EXIF. A header saying too many pixels is refused in French
before any pixel is decoded, and nothing is stored."""
import io
import struct
import zlib
from datetime import timedelta

import pytest
from PIL import Image, ImageDraw, ImageFile
from werkzeug.datastructures import FileStorage

from tests import factories
from training_app.clock import frozen_at
from training_app.documents import images, storage, word
from training_app.extensions import db
from training_app.models import Organisation, Signature
from training_app.services import ServiceError, attendance
from training_app.services import organisation as organisation_service

MAGIC = b"\x89PNG\r\n\x1a\n"
PLAIN_CHUNKS = {b"IHDR", b"IDAT", b"IEND"}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _with_chunks(png: bytes, *chunks: tuple[bytes, bytes]) -> bytes:
    """`png` with `chunks` added after its header (the signature, 8 bytes, and IHDR, 25)."""
    return png[:33] + b"".join(_chunk(kind, data) for kind, data in chunks) + png[33:]


def _parsed(png: bytes) -> tuple[list[bytes], dict, bytes]:
    """(the kinds of its chunks in order, its header's fields, the bytes after IEND)."""
    assert png.startswith(MAGIC)
    kinds, at = [], 8
    while True:
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        kinds.append(kind)
        if kind == b"IHDR":
            width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", png[at + 8:at + 21])
        at += 12 + length
        if kind == b"IEND":
            break
    return kinds, {"size": (width, height), "depth": depth, "colour": colour, "interlace": interlace}, png[at:]


def _assert_plain(png: bytes) -> dict:
    kinds, header, after = _parsed(png)
    assert set(kinds) == PLAIN_CHUNKS and kinds[0] == b"IHDR" and kinds[-1] == b"IEND", kinds
    assert after == b"" and header["depth"] == 8 and header["interlace"] == 0, header
    return header


def _stroke(mode="RGBA", size=(300, 120), ink=(16, 34, 77, 255), paper=(0, 0, 0, 0), shift=0) -> Image.Image:
    image = Image.new(mode, size, paper)
    ImageDraw.Draw(image).line([(10, 60 + shift), (150, 20), (290, 90 - shift)], fill=ink, width=6)
    return image


def _png(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", **options)
    return out.getvalue()


def _apng() -> tuple[bytes, Image.Image]:
    frames = [_stroke(shift=shift) for shift in (0, 25, -25)]
    return _png(frames[0], save_all=True, append_images=frames[1:], duration=200, loop=0), frames[0]


def _url(content: bytes) -> str:
    import base64
    return "data:image/png;base64," + base64.b64encode(content).decode()


def _signed(content: bytes) -> bytes:
    """What is stored for `content` drawn on the pad of a trainee signing a half-day."""
    session, (enrolment,) = factories.make_attendance_session(trainees=1)
    slot = session.slots[0]
    with frozen_at(slot.starts_at + timedelta(minutes=5)):
        attendance.sign(slot, enrolment, _url(content), method="device")
    db.session.commit()
    return db.session.scalar(db.select(Signature.image).where(Signature.enrolment_id == enrolment.id))


def _uploaded(content: bytes, name: str = "cachet.png", field: str = "stamp_image") -> bytes:
    """What is stored for `content` sent as the organisation's stamp (or `field`)."""
    factories.make_organisation()
    organisation_service.set_image(field, FileStorage(io.BytesIO(content), filename=name))
    db.session.commit()
    return organisation_service.image_bytes(field)


STORED = {"signature": _signed, "organisation": _uploaded}


def _rgba(content: bytes) -> bytes:
    with Image.open(io.BytesIO(content)) as image:
        return image.convert("RGBA").tobytes()


@pytest.mark.parametrize("path", STORED)
def test_an_animated_png_is_stored_as_its_first_frame_alone(path):
    apng, first = _apng()
    assert b"acTL" in apng and Image.open(io.BytesIO(apng)).n_frames == 3
    stored = STORED[path](apng)
    _assert_plain(stored)  # no acTL, fcTL or fdAT
    with Image.open(io.BytesIO(stored)) as image:
        assert not getattr(image, "is_animated", False) and image.size == first.size
    assert _rgba(stored) == first.tobytes()


@pytest.mark.parametrize("path", STORED)
def test_data_after_iend_is_not_stored(path):
    drawing = _png(_stroke())
    stored = STORED[path](drawing + b"PK\x03\x04 a zip riding along" + b"trailing text" * 20)
    _assert_plain(stored)
    assert b"trailing text" not in stored and b"PK\x03\x04" not in stored
    assert _rgba(stored) == _rgba(drawing)


def _sixteen_bit_rgba() -> bytes:
    """A 16-bit RGBA drawing (Pillow does not write one): a dark stroke whose samples' high bytes are 0x20."""
    ink, paper = b"\x20\x01" * 3 + b"\xff\xff", b"\x00" * 8
    rows = b"".join(b"\x00" + b"".join(ink if abs(x - 2 * y) < 4 else paper for x in range(120)) for y in range(50))
    return MAGIC + _chunk(b"IHDR", struct.pack(">IIBBBBB", 120, 50, 16, 6, 0, 0, 0)) + \
        _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b"")


@pytest.mark.parametrize("path", STORED)
def test_a_16_bit_png_is_stored_8_bit_with_its_colours(path):
    stored = STORED[path](_sixteen_bit_rgba())
    assert _assert_plain(stored)["colour"] == 6  # RGBA, its transparency kept
    with Image.open(io.BytesIO(stored)) as image:
        assert image.mode == "RGBA" and image.getpixel((0, 0)) == (0x20, 0x20, 0x20, 255)
        assert image.getpixel((119, 0)) == (0, 0, 0, 0)


@pytest.mark.parametrize("path", STORED)
def test_a_16_bit_grey_png_keeps_its_greys_as_8_bit(path):
    """Pillow's own convert("L") of a 16-bit grey clips every value above 255 to white: the high byte is kept."""
    image = Image.new("I;16", (300, 120), 0xFFFF)
    ImageDraw.Draw(image).line([(10, 60), (290, 70)], fill=0x3000, width=6)
    stored = STORED[path](_png(image))
    assert _assert_plain(stored)["colour"] == 0  # grey, 8-bit
    with Image.open(io.BytesIO(stored)) as grey:
        assert grey.mode == "L" and grey.getpixel((150, 65)) == 0x30 and grey.getpixel((0, 0)) == 255


@pytest.mark.parametrize("path", STORED)
def test_an_interlaced_png_is_stored_not_interlaced(path):
    """Pillow writes no interlaced PNG: the drawing is made with the PNG written by hand, Adam7."""
    ink, paper = b"\x10\x22\x4d\xff", b"\x00" * 4
    rows = b""
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                           (0, 1, 1, 2)):
        for y in range(y0, 60, dy):
            rows += b"\x00" + b"".join(ink if abs(x - 2 * y) < 3 else paper for x in range(x0, 120, dx))
    interlaced = MAGIC + _chunk(b"IHDR", struct.pack(">IIBBBBB", 120, 60, 8, 6, 0, 0, 1)) + \
        _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b"")
    assert _parsed(interlaced)[1]["interlace"] == 1
    stored = STORED[path](interlaced)
    _assert_plain(stored)
    assert _rgba(stored) == _rgba(interlaced)


METADATA = ((b"tEXt", b"Author\x00Someone's name"), (b"zTXt", b"Comment\x00\x00" + zlib.compress(b"hidden text")),
            (b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta>GPS 48.1,-1.6</x:xmpmeta>"),
            (b"eXIf", b"MM\x00*\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"), (b"tIME", struct.pack(">HBBBBB", 2030, 3, 5, 14, 3, 0)),
            (b"pHYs", struct.pack(">IIB", 11811, 11811, 1)), (b"gAMA", struct.pack(">I", 45455)),
            (b"iCCP", b"profile\x00\x00" + zlib.compress(b"not a profile")), (b"prIV", b"private data"))


@pytest.mark.parametrize("path", STORED)
def test_text_exif_and_every_other_ancillary_chunk_are_dropped(path):
    drawing = _png(_stroke())
    stored = STORED[path](_with_chunks(drawing, *METADATA))
    _assert_plain(stored)
    assert b"Someone" not in stored and b"xmpmeta" not in stored
    assert _rgba(stored) == _rgba(drawing)


def test_a_transparent_colour_or_palette_becomes_an_alpha_channel():
    grey = _png(_stroke("L", ink=0, paper=255), transparency=255)  # white is transparent (tRNS)
    stored = attendance.decode_signature(_url(grey))
    assert _assert_plain(stored)["colour"] == 4  # grey and alpha: no tRNS chunk needed
    with Image.open(io.BytesIO(stored)) as image:
        assert image.getpixel((0, 0)) == (255, 0) and image.getpixel((150, 20)) == (0, 255)
    palette = _stroke("P", ink=1, paper=0)
    palette.putpalette([255, 255, 255, 16, 34, 77])
    stored = attendance.decode_signature(_url(_png(palette, transparency=0)))
    assert _assert_plain(stored)["colour"] == 6
    with Image.open(io.BytesIO(stored)) as image:
        assert image.getpixel((0, 0))[3] == 0 and image.getpixel((150, 20)) == (16, 34, 77, 255)


def _header_only(width: int, height: int) -> bytes:
    """A PNG that says it is width × height pixels, with a few bytes of pixels (its size tells nothing)."""
    return MAGIC + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)) + \
        _chunk(b"IDAT", zlib.compress(b"\x00" * (4 * width + 1))) + _chunk(b"IEND", b"")


@pytest.fixture
def nothing_decoded(monkeypatch):
    """Decoding any image fails the test."""
    def load(self):
        raise AssertionError("an image was decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


@pytest.mark.parametrize("width, height", [(20000, 20000), (2001, 50), (50, 2001)])
def test_a_signature_whose_header_says_too_many_pixels_is_refused_in_french_before_decoding(
        nothing_decoded, width, height):
    session, (enrolment,) = factories.make_attendance_session(trainees=1)
    slot = session.slots[0]
    with frozen_at(slot.starts_at + timedelta(minutes=5)), pytest.raises(ServiceError) as refused:
        attendance.sign(slot, enrolment, _url(_header_only(width, height)), method="device")
    assert refused.value.message == "La signature reçue n'est pas une image PNG de taille raisonnable."
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Signature.id))) == 0


def test_signatures_are_bounded_at_2000_pixels_a_side():
    """Every pad exports at most PAD_EXPORT_MAX_SIDE (1500) pixels a side; the server takes up to 2000, no more."""
    assert attendance.PAD_EXPORT_MAX_SIDE < attendance.MAX_SIGNATURE_SIDE == 2000
    wide = _stroke(size=(2000, 400))
    assert _parsed(attendance.decode_signature(_url(_png(wide))))[1]["size"] == (2000, 400)
    with pytest.raises(ServiceError, match="taille raisonnable"):
        attendance.decode_signature(_url(_png(_stroke(size=(2001, 400)))))


def _jpeg_with_exif(size=(80, 40)) -> bytes:
    """A photo of a stamp taken sideways: the camera says so in its EXIF (orientation 6: turn it a quarter
    clockwise), with where and by what it was taken, and a comment."""
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).rectangle([0, 0, size[0] // 2, size[1]], fill="navy")  # its left half navy
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Téléphone de Claire"
    exif[0x0131] = "Editeur photo 1.0"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), comment=b"made at home", quality=90)
    return out.getvalue()


def test_a_jpeg_logo_stays_a_jpeg_without_its_exif_turned_as_it_was_seen():
    sent = _jpeg_with_exif()
    assert b"Exif\x00\x00" in sent and b"made at home" in sent
    stored = _uploaded(sent, "logo.jpg", "logo_image")
    assert Organisation.get().logo_image.endswith(".jpg") and stored.startswith(b"\xff\xd8\xff")
    assert b"Exif" not in stored and b"made at home" not in stored and "Claire".encode() not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and not image.getexif() and "comment" not in image.info
        assert image.size == (40, 80)  # upright: turned a quarter, its navy half now on top
        top, bottom = image.getpixel((20, 10)), image.getpixel((20, 70))
        assert max(top) < 160 and min(bottom) > 200, (top, bottom)
    assert word.placeable(stored)


def test_an_image_word_could_not_place_as_sent_is_stored_so_that_it_can():
    """A PNG stating 0 dots per inch (1 pixel a metre) and a JPEG without its JFIF segment: python-docx could not
    place them as sent; re-encoded, it can, so they are taken."""
    png = _png(_stroke("RGB", paper="white", ink="navy"))
    zero_dpi = _with_chunks(png, (b"pHYs", struct.pack(">IIB", 1, 1, 1)))
    out = io.BytesIO()
    Image.new("RGB", (60, 20), "navy").save(out, format="JPEG")
    without_jfif = out.getvalue()[:2] + out.getvalue()[20:]
    assert not word.placeable(zero_dpi) and not word.placeable(without_jfif)
    for content, name, field in ((zero_dpi, "cachet.png", "stamp_image"), (without_jfif, "logo.jpg", "logo_image")):
        stored = _uploaded(content, name, field)
        assert word.placeable(stored) and stored != content
    assert organisation_service.image_problems() == []


def test_the_images_module_reencodes_one_way_for_both_paths():
    """One function: the pad's drawing and the stamp sent as a file come out the same."""
    drawing = _with_chunks(_png(_stroke()), *METADATA) + b"trailing"
    plain = images.reencoded(drawing, ("png",), 2000)
    assert plain.kind == "png" and attendance.decode_signature(_url(drawing)) == plain.content
    assert _uploaded(drawing) == plain.content
    assert storage.read(Organisation.get().stamp_image) == plain.content


def test_a_cmyk_jpeg_from_print_software_is_taken_and_word_can_place_it():
    """Pillow writes no JFIF header for a CMYK JPEG saved without a resolution, and Word places no JPEG without one:
    the resolution is always given (the upload's, else 72 dpi)."""
    out = io.BytesIO()
    Image.new("CMYK", (80, 40), (0, 90, 90, 10)).save(out, format="JPEG", dpi=(300, 300))
    sent = out.getvalue()
    assert word.placeable(sent)
    stored = _uploaded(sent, "cachet.jpg", "stamp_image")
    assert word.placeable(stored)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.mode == "CMYK" and image.info["dpi"] == (300, 300)


def _grey_png(depth: int, transparent: int) -> bytes:
    """A 2- or 4-bit grey PNG written by hand (Pillow writes none): a black stroke on a background of value
    `transparent`, which tRNS makes transparent."""
    width, height, top = 16, 4, 2 ** depth - 1
    per_byte = 8 // depth
    rows = b""
    for y in range(height):
        values = [0 if y == 1 else transparent for _ in range(width)]
        packed = bytes(sum(v << (8 - depth * (i + 1)) for i, v in enumerate(values[k:k + per_byte]))
                       for k in range(0, width, per_byte))
        rows += b"\x00" + packed
    assert transparent <= top
    return (MAGIC + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0))
            + _chunk(b"tRNS", struct.pack(">H", transparent)) + _chunk(b"IDAT", zlib.compress(rows))
            + _chunk(b"IEND", b""))


@pytest.mark.parametrize("depth", [2, 4])
def test_a_grey_png_under_8_bits_keeps_its_transparent_background(depth):
    stored = _uploaded(_grey_png(depth, 2 ** depth - 1), "cachet.png", "stamp_image")
    with Image.open(io.BytesIO(stored)) as image:
        assert image.mode == "LA"
        assert image.getpixel((0, 0)) == (255, 0)  # the background: transparent, not a white box
        assert image.getpixel((0, 1)) == (0, 255)  # the stroke: black, opaque


def test_a_jpeg_of_too_many_scans_is_refused_before_decoding(nothing_decoded):
    """Each scan of a progressive JPEG is a pass over every pixel: thousands of them in a small file would cost
    minutes of CPU. Counted from the markers, before any pixel is decoded."""
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "navy").save(out, format="JPEG", progressive=True)
    content = out.getvalue()
    scan = content.index(b"\xff\xda")
    many = content[:scan] + content[scan:-2] * 0 + (content[scan:-2] * (images.MAX_JPEG_SCANS + 1)) + b"\xff\xd9"
    factories.make_organisation()
    with pytest.raises(ServiceError) as refused:
        organisation_service.set_image("logo_image", FileStorage(io.BytesIO(many), filename="logo.jpg"))
    assert "illisible ou abîmée" in refused.value.message
    assert Organisation.get().logo_image in (None, "")


def test_a_cmyk_jpeg_stating_no_resolution_is_given_72_dpi_so_that_word_can_place_it():
    out = io.BytesIO()
    Image.new("CMYK", (80, 40), (0, 90, 90, 10)).save(out, format="JPEG")
    stored = _uploaded(out.getvalue(), "cachet.jpg", "stamp_image")
    assert word.placeable(stored)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.info["dpi"] == (72, 72)
