"""Images people upload or draw (signatures, the organisation's stamp and logo), decoded within bounds and stored
re-encoded: never as they came.

An upload may be an animated PNG, carry data after its end, be 16-bit or interlaced, hold text, EXIF or a colour
profile, or say in its header that it is 20,000 pixels a side while weighing a few kilobytes (a decompression
bomb). `reencoded` reads the size from the header first (Image.open is lazy: nothing is decoded yet) and refuses
what exceeds the caller's limit before decoding a pixel; then it decodes the first frame only and writes it
anew: a plain 8-bit, non-interlaced PNG (L, LA, RGB or RGBA as the image needs, its transparency kept as an alpha
channel) holding IHDR, IDAT and IEND only, or a baseline JPEG (with the upload's own quantisation tables, so as
not to lose more quality) without EXIF, comments or profile. An EXIF orientation is applied to the pixels
before the EXIF goes, so the image stands as it was seen.
"""
import io
import struct
import zlib
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageMath, ImageOps, JpegImagePlugin

# A progressive JPEG is decoded once per scan: a normal one has about ten, a hostile one thousands (each costing a
# pass over every pixel: 10,000 scans of 4000 x 4000 took 18 s). Counted from the markers before decoding.
MAX_JPEG_SCANS = 100
# Rows of grey PNGs under 8 bits a pixel, whose transparent value Pillow leaves unscaled (see decoded).
_LOW_DEPTH_GREY = {"L;2": 2, "L;2I": 2, "L;4": 4, "L;4I": 4}

# What Pillow may raise on a damaged or hostile file, whatever its format.
BROKEN = (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError, TypeError, ZeroDivisionError)


class Unreadable(Exception):
    """Not an image of the kinds asked for, or damaged (cut short, a wrong checksum, pixels missing...)."""


class TooLarge(Exception):
    """More pixels a side than allowed, known from the header alone: nothing was decoded."""


@dataclass(frozen=True)
class Plain:
    content: bytes        # what to store: the image re-encoded
    kind: str             # "png" or "jpeg"
    image: Image.Image    # its pixels, decoded (mode L, LA, RGB or RGBA; a JPEG's may be CMYK)


def reencoded(content: bytes, kinds: tuple[str, ...], max_side: int) -> Plain:
    """The image `content` (a PNG or a JPEG among `kinds`) re-encoded as the module says, or TooLarge (its
    header says more than `max_side` pixels a side) or Unreadable."""
    image, kind, jpeg_tables = decoded(content, kinds, max_side)
    out = io.BytesIO()
    try:
        if kind == "png":  # zlib's strategy for filtered rows, as PNG's are: as small as its default, and a
            image.save(out, format="PNG", compress_type=zlib.Z_FILTERED)  # pad's drawing is written twice as fast
        else:
            image.save(out, format="JPEG", **jpeg_tables)
    except BROKEN:  # e.g. quantisation tables Pillow read but cannot write back
        raise Unreadable() from None
    return Plain(out.getvalue(), kind, image)


def decoded(content: bytes, kinds: tuple[str, ...], max_side: int) -> tuple[Image.Image, str, dict]:
    """(the pixels of the first frame as `reencoded` stores them, "png" or "jpeg", the JPEG save options that keep
    its quantisation) of `content`; TooLarge or Unreadable. Decodes without encoding: enough to check an image
    stored earlier."""
    formats = {"png": "PNG", "jpeg": "JPEG"}
    try:
        with Image.open(io.BytesIO(content)) as probe:  # reads the header only
            if probe.format not in [formats[kind] for kind in kinds] or min(probe.size) < 1:
                raise Unreadable()
            if max(probe.size) > max_side:
                raise TooLarge()
            probe.verify()  # every chunk's checksum (PNG), before decoding
            if probe.format == "JPEG" and content.count(b"\xff\xda") > MAX_JPEG_SCANS:  # its start-of-scan markers
                raise Unreadable()
        with Image.open(io.BytesIO(content)) as picture:
            kind = "png" if picture.format == "PNG" else "jpeg"
            jpeg_tables = _jpeg_tables(picture) if kind == "jpeg" else {}
            depth = _LOW_DEPTH_GREY.get(_raw_mode(picture))
            picture.load()  # the first frame, every pixel
            if depth and isinstance(picture.info.get("transparency"), int):  # scaled to 8 bits like the pixels
                picture.info["transparency"] = picture.info["transparency"] * 255 // (2 ** depth - 1)
            image = _plain(_upright(picture), kind)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge() from None  # Pillow's own limit, far above ours: refused on the header too
    except BROKEN:
        raise Unreadable() from None
    image.info = {}  # no text, EXIF, profile, resolution, transparency colour or animation goes with it
    return image, kind, jpeg_tables


def _raw_mode(picture: Image.Image) -> str:
    """How the file stores its pixels ("L;2": grey, 2 bits each), before they are decoded."""
    args = picture.tile[0].args if picture.tile else ""
    return args if isinstance(args, str) else (args[0] if args and isinstance(args[0], str) else "")


def _jpeg_tables(picture: Image.Image) -> dict:
    """The save options of a JPEG re-encoded: its own quantisation and sampling, and the resolution it states.
    A CMYK one stating none is given 72 dpi: only then does Pillow write it a JFIF header, without which Word
    places no JPEG (word.placeable)."""
    sampling = JpegImagePlugin.get_sampling(picture)
    tables = {"qtables": picture.quantization} if getattr(picture, "quantization", None) else {"quality": 90}
    dpi = tuple(round(value) for value in picture.info.get("dpi", ()) if isinstance(value, (int, float)))
    if not (len(dpi) == 2 and all(1 <= value <= 65535 for value in dpi)):
        dpi = (72, 72) if picture.mode == "CMYK" else None
    return (tables | ({"dpi": dpi} if dpi else {})
            | ({"subsampling": sampling} if sampling != -1 else {}))


def _upright(picture: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says (a photo of a stamp taken sideways), since the EXIF goes.
    EXIF that cannot be read turns nothing; an image standing as it is is not copied."""
    try:
        if picture.getexif().get(ExifTags.Base.Orientation, 1) not in range(2, 9):
            return picture
        return ImageOps.exif_transpose(picture)
    except BROKEN:
        return picture


def _plain(image: Image.Image, kind: str) -> Image.Image:
    """`image` in the 8-bit mode its file is re-encoded in: a JPEG keeps L, RGB or CMYK; a PNG becomes L or RGB,
    with an alpha channel (LA, RGBA) when it has transparency (an alpha channel, a transparent colour or
    palette entries). 16-bit values keep their high byte."""
    transparent = "transparency" in image.info
    if kind == "jpeg":
        return image.copy() if image.mode in ("L", "RGB", "CMYK") else image.convert("RGB")
    if image.mode.startswith("I"):  # 16-bit grey: I;16 (or I), which convert("L") would clip at 255
        wide = image.convert("I")
        grey = wide.point(lambda value: value / 256).convert("L")
        if not transparent:
            return grey
        colour = image.info["transparency"]
        alpha = ImageMath.lambda_eval(lambda names: (names["wide"] != colour) * 255, wide=wide).convert("L")
        return Image.merge("LA", (grey, alpha))
    if image.mode in ("1", "L"):
        return image.convert("LA" if transparent else "L")
    if image.mode == "LA":
        return image.copy()
    if transparent or image.mode in ("RGBA", "PA"):
        return image.convert("RGBA")
    return image.convert("RGB")
