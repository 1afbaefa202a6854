"""Opening an asset safely: refuse what is no usable image from its size, signature and header alone.

Nothing here decodes pixels. `Image.open` reads the header only; the declared pixel count is checked
against `Limits.max_pixels` before anyone calls `load()`. Pillow's own DecompressionBombError (at twice
`Image.MAX_IMAGE_PIXELS`) is caught as a fallback and reported the same way.
"""
from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, JpegImagePlugin, UnidentifiedImageError

from humas.assets.codes import Text, finding, mp_text, size_text
from humas.assets.limits import Limits
from humas.assets.model import Finding
from humas.assets.sniff import (
    ADVICE,
    DEFAULT_ADVICE,
    VIDEO_EXTENSIONS,
    Kind,
    claimed_formats,
    describe_unreadable,
    extension,
    sniff,
    suggested_extension,
)

ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "AVIF")  # JPEG also yields MPO
_SIGNATURES = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
               (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"BM", "BMP"))
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


class AssetRefused(Exception):
    """Internal control flow: the asset cannot be used at all; `finding` says why and what to do."""

    def __init__(self, refusal: Finding) -> None:
        super().__init__(refusal.message_en)
        self.finding = refusal


@dataclass(frozen=True)
class Header:
    """What the file's header declares, before any decoding."""

    format: str
    size: tuple[int, int]
    mode: str
    frames: int
    animated: bool
    bit_depth: int
    subsampling: int  # JPEG chroma subsampling: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0, -1 = not a JPEG/unknown

    @property
    def pixels(self) -> int:
        return self.size[0] * self.size[1]


def kind_finding(name: str, kind: Kind) -> Finding:
    """The refusal for a file that is `kind` rather than a usable image."""
    if kind.image:
        return finding("ASSET_UNSUPPORTED_FORMAT", asset=name, kind=kind.label,
                       advice=ADVICE.get(kind.key, DEFAULT_ADVICE))
    if claimed_formats(name):
        return finding("ASSET_FORMAT_MISMATCH", asset=name, ext=extension(name), kind=kind.label)
    return finding("ASSET_NOT_IMAGE", asset=name, kind=kind.label)


def bomb_finding(name: str, pixels: int, limits: Limits, dims: Text) -> Finding:
    return finding("ASSET_DECOMPRESSION_BOMB", asset=name, dims=dims, megapixels=mp_text(pixels),
                   limit_mp=mp_text(limits.max_pixels))


def signature_format(data: bytes) -> str | None:
    """The image format the first bytes announce (used to describe damaged files)."""
    for magic, fmt in _SIGNATURES:
        if data.startswith(magic):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 9 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            return width, height
        if marker == 0xFF or 0xD0 <= marker <= 0xD9 or marker == 0x01:  # fill byte or marker without length
            position += 1 if marker == 0xFF else 2
            continue
        position += 2 + int.from_bytes(data[position + 2:position + 4], "big")
    return None


def declared_size(data: bytes) -> tuple[int, int] | None:
    """Width and height as a PNG, JPEG or GIF header declares them (for messages about refused files)."""
    fmt = signature_format(data)
    if fmt == "PNG" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if fmt == "GIF" and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    return _jpeg_size(data) if fmt == "JPEG" else None


def _looks_truncated(fmt: str | None, data: bytes) -> bool:
    tail = data.rstrip(b"\x00")
    if fmt in ("JPEG", "MPO"):
        return not tail.endswith(b"\xff\xd9")
    if fmt == "PNG":
        return b"IEND" not in tail[-12:]
    if fmt == "GIF":
        return not tail.endswith(b";")
    return False


def damage_finding(name: str, exc: BaseException, fmt: str | None, data: bytes) -> Finding:
    """ASSET_TRUNCATED or ASSET_CORRUPT for an error Pillow raised on hostile or damaged bytes."""
    detail = f"{type(exc).__name__}: {exc}"[:200]
    truncated = isinstance(exc, EOFError) or "truncated" in str(exc).lower() or _looks_truncated(fmt, data)
    if truncated:
        return finding("ASSET_TRUNCATED", asset=name, detail=detail)
    return finding("ASSET_CORRUPT", asset=name, format=fmt or "?", detail=detail)


def screen(name: str, data: bytes, limits: Limits) -> None:
    """Refuse empty, oversized and non-image files from their length and signature alone."""
    if not data:
        raise AssetRefused(finding("ASSET_EMPTY", asset=name))
    if len(data) > limits.max_input_bytes:
        raise AssetRefused(finding("ASSET_INPUT_TOO_LARGE", asset=name, size=size_text(len(data)),
                                   limit=size_text(limits.max_input_bytes)))
    kind = sniff(data, name)
    if kind is not None:
        raise AssetRefused(kind_finding(name, kind))


def _open(name: str, data: bytes, limits: Limits) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit decides
            return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:  # Pillow's own limit (2 x MAX_IMAGE_PIXELS) came first
        raise AssetRefused(_pillow_bomb(name, data, exc, limits)) from exc
    except UnidentifiedImageError as exc:
        fmt = signature_format(data)
        if fmt is not None:  # an image signature Pillow could not follow: a damaged header
            raise AssetRefused(damage_finding(name, exc, fmt, data)) from exc
        raise AssetRefused(kind_finding(name, describe_unreadable(data))) from exc
    except Exception as exc:  # noqa: BLE001 - hostile bytes make Pillow raise many kinds of error
        raise AssetRefused(damage_finding(name, exc, signature_format(data), data)) from exc


def _dims(width: int, height: int) -> Text:
    return Text(f"{width}×{height} piksel", f"{width}x{height} pixels")


def _pillow_bomb(name: str, data: bytes, exc: Exception, limits: Limits) -> Finding:
    size = declared_size(data)
    if size is not None:
        return bomb_finding(name, size[0] * size[1], limits, _dims(*size))
    match = _BOMB_PIXELS.search(str(exc))
    pixels = int(match.group(1)) if match else 0
    return bomb_finding(name, pixels, limits, Text(f"{pixels:,} piksel".replace(",", "."), f"{pixels:,} pixels"))


def _bit_depth(im: Image.Image, data: bytes) -> int:
    if im.format == "PNG" and len(data) > 24:
        return data[24]  # IHDR bit depth: 8-byte signature, chunk length, "IHDR", width, height
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258, 8)
        return max(bits) if isinstance(bits, tuple) else int(bits)
    return {"I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}.get(im.mode, 8)


def _frames(name: str, im: Image.Image, data: bytes) -> tuple[int, bool]:
    if im.format == "MPO":  # a phone JPEG with a depth map or preview: the primary image is the photo
        return 1, False
    try:
        return int(getattr(im, "n_frames", 1)), bool(getattr(im, "is_animated", False))
    except Exception as exc:  # noqa: BLE001 - walking the frames of a damaged file
        raise AssetRefused(damage_finding(name, exc, im.format, data)) from exc


def _header(name: str, im: Image.Image, data: bytes) -> Header:
    frames, animated = _frames(name, im, data)
    sampling = JpegImagePlugin.get_sampling(im) if im.format in ("JPEG", "MPO") else -1
    return Header(format=im.format or "?", size=im.size, mode=im.mode, frames=frames, animated=animated,
                  bit_depth=_bit_depth(im, data), subsampling=sampling)


def open_header(name: str, data: bytes, limits: Limits) -> tuple[Image.Image, Header]:
    """Open `data` header-only; raise AssetRefused for anything that must not or cannot be decoded."""
    screen(name, data, limits)
    im = _open(name, data, limits)
    width, height = im.size
    if width * height > limits.max_pixels:
        raise AssetRefused(bomb_finding(name, width * height, limits, _dims(width, height)))
    return im, _header(name, im, data)


def extension_finding(name: str, header: Header) -> Finding | None:
    """A warning when the name promises another image format than the bytes hold (a PNG named .jpg)."""
    claimed = claimed_formats(name)
    if header.format in (claimed or ()) or claimed is None and extension(name) not in VIDEO_EXTENSIONS:
        return None   # the name promises this image, or nothing at all (a still image named .mp4 is flagged)
    real = header.format
    return finding("ASSET_EXTENSION_MISMATCH", asset=name, real_format=real, ext=extension(name),
                   suggested=suggested_extension(real))
