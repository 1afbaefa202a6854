"""Encoding renditions: clean files (sRGB profile only; no EXIF, GPS, XMP or comment) under a byte limit."""
from __future__ import annotations

import io

from PIL import Image

from humas.assets.colour import SRGB_ICC
from humas.profiles import Placement

MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp",
              "BMP": "image/bmp", "TIFF": "image/tiff"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp", "TIFF": "tif"}
_QUALITY_FORMATS = ("JPEG", "WEBP")


def output_format(placement: Placement) -> str:
    """JPEG wherever the placement takes it (every current profile does), else its first format."""
    return "JPEG" if "JPEG" in placement.formats else placement.formats[0]


def encode(im: Image.Image, fmt: str, quality: int, subsampling: int) -> bytes:
    """`im` as `fmt` bytes carrying only an sRGB profile: the original's metadata never rides along."""
    im.info.clear()  # Pillow copies info (EXIF, XMP, comment) through resize/convert; publish none of it
    buf = io.BytesIO()
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=quality, subsampling=subsampling, icc_profile=SRGB_ICC)
    elif fmt == "WEBP":
        im.save(buf, "WEBP", quality=quality, icc_profile=SRGB_ICC)
    elif fmt == "PNG":
        im.save(buf, "PNG", icc_profile=SRGB_ICC)
    else:
        im.save(buf, fmt)
    return buf.getvalue()


class Encoder:
    """One image encoded at several qualities; results are kept so the search and other channels reuse them."""

    def __init__(self, im: Image.Image, fmt: str, subsampling: int) -> None:
        self.im = im
        self.fmt = fmt
        self.subsampling = subsampling
        self._by_quality: dict[int, bytes] = {}

    def at(self, quality: int) -> bytes:
        if quality not in self._by_quality:
            self._by_quality[quality] = encode(self.im, self.fmt, quality, self.subsampling)
        return self._by_quality[quality]

    def within(self, max_bytes: int, start: int, lowest: int) -> tuple[bytes, int] | None:
        """(bytes, quality) at the highest quality <= `start` that fits `max_bytes`; None if even `lowest` is too big."""
        if len(self.at(start)) <= max_bytes:
            return self.at(start), start
        if self.fmt not in _QUALITY_FORMATS:
            return None
        best: tuple[bytes, int] | None = None
        low, high = lowest, start - 1
        while low <= high:  # file size grows with quality, so binary search for the highest that fits
            mid = (low + high) // 2
            if len(self.at(mid)) <= max_bytes:
                best, low = (self.at(mid), mid), mid + 1
            else:
                high = mid - 1
        return best
