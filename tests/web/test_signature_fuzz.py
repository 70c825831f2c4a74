"""The signature pad's input fuzzed through the page a trainee signs on: odd PNG data URLs (seeded, so every run
posts the same ones). Each is refused in French with nothing written, or accepted as a signature that the
attendance sheet can then print, stored re-encoded (a plain 8-bit PNG of the first frame: no animation, nothing
after IEND, no ancillary chunk, not interlaced) with the pixels posted; never a 500."""
import base64
import html
import io
import random
import re
import struct
import zlib
from datetime import datetime, timedelta

from docx import Document
from PIL import Image, ImageDraw

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import AttendanceRecord, AuditEntry, Signature
from training_app.services.attendance import MAX_SIGNATURE_SIDE

SEED = 318
MAGIC = b"\x89PNG\r\n\x1a\n"
FRENCH_REFUSALS = ("La signature reçue n'est pas une image PNG.", "L'image de la signature est trop lourde.",
                   "La signature reçue n'est pas une image PNG de taille raisonnable.",
                   "La signature est vide : signez dans le cadre.",
                   "La signature est vide ou invisible : signez dans le cadre.", "Signez dans le cadre avant de valider.")
TOO_BIG_PAGE = "Le fichier envoyé est trop volumineux."  # above the request size limit (MAX_CONTENT_LENGTH)


def _chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc & 0xFFFFFFFF)


def _header(width: int, height: int, depth: int = 8, colour: int = 6, interlace: int = 0) -> bytes:
    return _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace))


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    found, at = [], 8
    while at + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        found.append((kind, png[at + 8:at + 8 + length]))
        at += 12 + length
    return found


def _packed(chunks) -> bytes:
    return MAGIC + b"".join(_chunk(kind, data) for kind, data in chunks)


def _with_chunk(png: bytes, kind: bytes, data: bytes) -> bytes:
    """`png` with a chunk added after its header."""
    chunks = _chunks(png)
    return _packed(chunks[:1] + [(kind, data)] + chunks[1:])


def _raw(width: int, height: int, depth: int, colour: int, pixels: bytes, interlace: int = 0) -> bytes:
    return MAGIC + _header(width, height, depth, colour, interlace) + _chunk(b"IDAT", zlib.compress(pixels)) + \
        _chunk(b"IEND", b"")


def _stroke_rows(width: int, height: int, ink: bytes, paper: bytes) -> bytes:
    """Scanlines (filter 0) of a diagonal stroke."""
    return b"".join(b"\x00" + b"".join(ink if abs(x - y * width // height) < 3 else paper for x in range(width))
                    for y in range(height))


def _interlaced_rows(width: int, height: int, ink: bytes, paper: bytes) -> bytes:
    """The scanlines of an Adam7-interlaced 8-bit RGBA stroke."""
    rows = b""
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                           (0, 1, 1, 2)):
        if x0 < width:
            for y in range(y0, height, dy):
                rows += b"\x00" + b"".join(ink if abs(x - 2 * y) < 3 else paper for x in range(x0, width, dx))
    return rows


def _drawn(rng: random.Random, mode: str = "RGBA", size=(300, 120), frames: int = 1, **options) -> bytes:
    """What a pad could draw: a random stroke, in a PNG of `mode` (several frames: an animated PNG)."""
    paper = {"RGBA": (0, 0, 0, 0), "RGB": (255, 255, 255), "L": 255, "LA": (255, 0), "P": 0, "1": 1, "I;16": 65535}
    ink = {"RGBA": (16, 34, 77, 255), "RGB": (0, 0, 0), "L": 0, "LA": (0, 255), "P": 1, "1": 0, "I;16": 0}
    images = []
    for _frame in range(frames):
        image = Image.new(mode, size, paper[mode])
        if mode == "P":
            image.putpalette([255, 255, 255, 0, 0, 0])
        points = [(rng.randrange(size[0]), rng.randrange(size[1])) for _point in range(6)]
        ImageDraw.Draw(image).line(points, fill=ink[mode], width=4)
        images.append(image)
    out = io.BytesIO()
    if frames > 1:
        options.update(save_all=True, append_images=images[1:], duration=100)
    images[0].save(out, format="PNG", **options)
    return out.getvalue()


def _url(content: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(content).decode()


def odd_signatures(seed: int = SEED) -> list[tuple[str, str, str]]:
    """(what it is, the data URL, "accepted", "refused" or "either") for the odd inputs of the security review."""
    rng = random.Random(seed)
    good = _drawn(rng)
    chunks = _chunks(good)
    ink, paper = b"\x10\x22\x4d\xff", b"\x00" * 4
    cases = [("a pad's drawing", good, "accepted"), ("an opaque RGB drawing", _drawn(rng, "RGB"), "accepted"),
             ("a grey drawing", _drawn(rng, "L"), "accepted"), ("grey and alpha", _drawn(rng, "LA"), "accepted")]
    cases += [(f"truncated after {cut} bytes", good[:cut], "refused")
              for cut in sorted(rng.sample(range(1, len(good)), 4))]
    cases.append(("no IEND", _packed(chunk for chunk in chunks if chunk[0] != b"IEND"), "refused"))
    for index, (kind, _data) in enumerate(chunks):
        flipped = MAGIC + b"".join(_chunk(k, d, zlib.crc32(k + d) ^ (1 << rng.randrange(32)) if i == index else None)
                                   for i, (k, d) in enumerate(chunks))
        cases.append((f"wrong CRC of {kind.decode()}", flipped, "either" if kind == b"IEND" else "refused"))
    for width, height in ((2**31 - 1, 120), (300, 2**31 - 1), (2**32 - 1, 2**32 - 1), (65535, 65535), (3001, 120),
                          (MAX_SIGNATURE_SIDE + 1, 120), (120, MAX_SIGNATURE_SIDE + 1), (20_000, 20_000),
                          (100_000, 1), (0, 120), (300, 0), (0, 0)):
        cases.append((f"a header saying {width}x{height}", MAGIC + _header(width, height) +
                      b"".join(_chunk(k, d) for k, d in chunks[1:]), "refused"))
    cases += [
        ("3000x3000 all zeros in a small IDAT (a decompression bomb)", MAGIC + _header(3000, 3000) +
         _chunk(b"IDAT", zlib.compress(b"\x00" * 36_003_000, 9)) + _chunk(b"IEND", b""), "refused"),
        ("interlaced", _raw(120, 60, 8, 6, _interlaced_rows(120, 60, ink, paper), interlace=1), "accepted"),
        ("interlaced, its passes cut short", _raw(120, 60, 8, 6, b"\x00" * 50, interlace=1), "refused"),
        ("palette", _drawn(rng, "P"), "accepted"),
        ("palette with a transparent colour", _drawn(rng, "P", transparency=0), "accepted"),
        ("palette image without its palette", _raw(60, 20, 8, 3, (b"\x00" + b"\x01" * 60) * 20), "refused"),
        ("1-bit", _drawn(rng, "1"), "accepted"),
        ("16-bit grey", _drawn(rng, "I;16"), "accepted"),
        ("16-bit RGBA", _raw(80, 30, 16, 6, _stroke_rows(80, 30, b"\x00" * 6 + b"\xff\xff", b"\x00" * 8)), "accepted"),
        ("16-bit RGB", _raw(80, 30, 16, 2, _stroke_rows(80, 30, b"\x00" * 6, b"\xff" * 6)), "accepted"),
        ("16-bit palette (no such PNG)", _raw(10, 10, 16, 3, (b"\x00" + b"\x00" * 20) * 10), "refused"),
        ("colour type 5 (no such PNG)", _raw(10, 10, 8, 5, (b"\x00" + b"\x00" * 20) * 10), "refused"),
        ("APNG", _drawn(rng, frames=3), "accepted"),
        ("APNG whose frame count says 2**31", _packed(
            (kind, struct.pack(">II", 2**31 - 1, 0) if kind == b"acTL" else data)
            for kind, data in _chunks(_drawn(rng, frames=2))), "accepted"),
        ("text after IEND", good + b"trailing data" * 10, "accepted"),
        ("a zip after IEND", good + b"PK\x03\x04" + rng.randbytes(200), "accepted"),
        ("a GIF behind the PNG signature", MAGIC + b"GIF89a" + rng.randbytes(100), "refused"),
        ("random bytes behind the PNG signature", MAGIC + rng.randbytes(500), "refused"),
        ("the PNG signature alone", MAGIC, "refused"),
        ("an IDAT that is not zlib", MAGIC + _header(10, 10) + _chunk(b"IDAT", rng.randbytes(80)) +
         _chunk(b"IEND", b""), "refused"),
        ("a chunk longer than the file", MAGIC + _header(10, 10) + struct.pack(">I", 2**31 - 1) + b"IDAT" + b"x" * 20,
         "refused"),
        ("a zTXt bomb", _with_chunk(good, b"zTXt", b"Comment\x00\x00" + zlib.compress(b"a" * 20_000_000, 9)),
         "refused"),
        # 0 dpi: python-docx could not place it as posted; re-encoded, the pHYs chunk is gone
        ("pHYs of 1 pixel a metre (0 dpi)", _with_chunk(good, b"pHYs", struct.pack(">IIB", 1, 1, 1)), "accepted"),
        ("pHYs of 0", _with_chunk(good, b"pHYs", struct.pack(">IIB", 0, 0, 1)), "accepted"),
        ("pHYs at its largest", _with_chunk(good, b"pHYs", struct.pack(">IIB", 2**32 - 1, 2**32 - 1, 1)), "accepted"),
        ("an ICC profile of garbage", _with_chunk(good, b"iCCP", b"icc\x00\x00" + zlib.compress(b"garbage")),
         "accepted"),
        ("a gamma of 0", _with_chunk(good, b"gAMA", b"\x00" * 4), "accepted"),
        ("Exif of garbage", _with_chunk(good, b"eXIf", b"MM\x00*" + rng.randbytes(64)), "accepted"),
        ("2000 tEXt chunks", MAGIC + _chunk(b"IHDR", chunks[0][1]) + _chunk(b"tEXt", b"k\x00v") * 2000 +
         b"".join(_chunk(k, d) for k, d in chunks[1:]), "accepted"),
    ]
    mutated = [(f"mutant {number}: {flips} random bytes changed", bytearray(good), flips)
               for number, flips in enumerate((1, 1, 2, 3, 5, 8, 20), start=1)]
    for label, content, flips in mutated:
        for _flip in range(flips):
            content[rng.randrange(8, len(content))] = rng.randrange(256)
        cases.append((label, bytes(content), "either"))
    cases.append(("the largest drawing allowed", _drawn(random.Random(seed + 1), size=(MAX_SIGNATURE_SIDE, 500)),
                  "accepted"))
    urls = [(label, _url(content), expected) for label, content, expected in cases]
    encoded = base64.b64encode(good).decode()
    prefix = "data:image/png;base64,"
    urls += [(label, url, "refused") for label, url in (
        ("base64 cut in lines", prefix + "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))),
        ("base64 in the URL-safe alphabet", prefix + base64.urlsafe_b64encode(good).decode()),
        ("base64 without its padding", prefix + encoded.rstrip("=") + "A"),
        ("base64 with accented letters", prefix + encoded[:40] + "é€" + encoded[40:]),
        ("base64 of random bytes", prefix + base64.b64encode(rng.randbytes(3000)).decode()),
        ("random characters", prefix + "".join(rng.choice("ABCZ+/=-_ %&<>\"'") for _char in range(500))),
        ("nothing after the prefix", prefix),
        ("the prefix in capitals", prefix.upper() + encoded),
        ("an SVG data URL", "data:image/svg+xml;base64," + base64.b64encode(b"<svg onload='alert(1)'/>").decode()),
        ("a javascript: URL", "javascript:alert(1)"),
        ("a 200 Ko data URL", prefix + encoded + "A" * (200 * 1024)),
        ("a 2 Mo data URL", prefix + "A" * (2 * 1024 * 1024)),
        ("an 11 Mo data URL", prefix + "A" * (11 * 1024 * 1024)),
    )]
    # Every form value loses its invisible characters (form_input) before the service reads it: this one is whole.
    urls.append(("base64 with a NUL", prefix + encoded[:40] + "\x00" + encoded[40:], "accepted"))
    return urls


def _assert_stored_plain(stored: bytes, posted: bytes, label: str) -> None:
    """`stored` is `posted` re-encoded: IHDR, IDAT and IEND only (8-bit, not interlaced, grey or colour, with
    alpha or not), nothing after IEND, and the pixels of the first frame posted."""
    assert stored.startswith(MAGIC), label
    chunks = _chunks(stored)
    assert {kind for kind, _data in chunks} == {b"IHDR", b"IDAT", b"IEND"} and chunks[-1] == (b"IEND", b""), label
    assert len(MAGIC) + sum(12 + len(data) for _kind, data in chunks) == len(stored), label  # nothing after IEND
    _width, _height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, interlace) == (8, 0) and colour in (0, 2, 4, 6), (label, depth, colour, interlace)
    with Image.open(io.BytesIO(stored)) as kept, Image.open(io.BytesIO(posted)) as sent:
        assert kept.size == sent.size and kept.convert("RGBA").tobytes() == sent.convert("RGBA").tobytes(), label


def _counts() -> list[int]:
    return [db.session.scalar(db.select(db.func.count(model.id))) for model in (Signature, AttendanceRecord,
                                                                                 AuditEntry)]


def _refusal(response) -> str:
    page = html.unescape(response.get_data(as_text=True))
    if response.status_code == 413:
        return TOO_BIG_PAGE if TOO_BIG_PAGE in page else ""
    found = re.search(r'<div class="alert alert-danger" role="alert">(.*?)</div>', page, re.DOTALL)
    return found.group(1).strip() if found else ""


def test_odd_signature_images_are_refused_in_french_or_accepted_and_printable_never_a_500(app, admin_client):
    session, (first,) = factories.make_attendance_session(trainees=1, modality="remote",
                                                          start=datetime(2031, 3, 4, 14), end=datetime(2031, 3, 7, 12, 30))
    slot = session.slots[0]
    phone = app.test_client()
    signer, outcomes = first, {}
    for label, data_url, expected in odd_signatures():
        before = _counts()
        with frozen_at(slot.starts_at + timedelta(minutes=5)):
            path = factories.personal_path(signer.trainee, "attendance.trainee_sign", slot_id=slot.id)
            response = phone.post(path, data={"signature": data_url})
        assert response.status_code in (302, 413, 422), (label, response.status_code)
        if response.status_code == 302:
            outcomes[label] = "accepted"
            assert _counts()[:2] == [before[0] + 1, before[1] + 1], label
            signed = db.session.scalar(db.select(Signature).where(Signature.enrolment_id == signer.id))
            _assert_stored_plain(signed.image, base64.b64decode(data_url.split(",", 1)[1]), label)
            signer = factories.make_enrolment(session, factories.make_trainee())  # the next one signs afresh
        else:
            outcomes[label] = "refused"
            assert _refusal(response) in FRENCH_REFUSALS + (TOO_BIG_PAGE,), (label, _refusal(response))
            assert _counts() == before, label  # nothing half-written: no signature, no record, no audit entry
        assert expected in ("either", outcomes[label]), (label, outcomes[label])
    assert len(outcomes) >= 60 and 20 <= list(outcomes.values()).count("accepted") <= 40
    # Every signature accepted goes on the sheets: the Word sheet places each image.
    sheet = admin_client.get(f"/sessions/{session.id}/emargement/feuille.docx")
    assert sheet.status_code == 200
    placed = Document(io.BytesIO(sheet.data)).inline_shapes
    assert len(placed) >= list(outcomes.values()).count("accepted")
