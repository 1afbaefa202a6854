"""Decoding an accepted asset: first frame only, as small as the renditions allow, upright, 8-bit.

JPEGs are decoded with `Image.draft()` at the smallest DCT scale (1/2, 1/4, 1/8) that still covers the
largest rendition, which cuts decode time and memory by 4-64x for camera photos. The whole entropy-coded
stream is still read, so truncation and corruption are found by the same decode.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageOps

from humas.assets.codes import Text, finding
from humas.assets.model import Finding
from humas.assets.probe import AssetRefused, Header, damage_finding

DRAFTABLE = frozenset({"JPEG", "MPO"})
_SIMPLE_MODES = {"1": "L", "F": "L", "LA": "RGBA", "La": "RGBA", "RGBa": "RGBA", "RGBX": "RGB", "YCbCr": "RGB",
                 "HSV": "RGB", "LAB": "RGB"}
_WORKING_MODES = ("RGB", "L", "CMYK")


@dataclass(frozen=True)
class Meta:
    """What the file's metadata says that matters for publishing."""

    orientation: int = 1
    gps: bool = False
    icc: bytes | None = None


def oriented(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The size as displayed: EXIF orientations 5-8 swap width and height."""
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def read_meta(im: Image.Image) -> Meta:
    """Orientation, GPS presence and ICC profile; damaged EXIF counts as none."""
    icc = im.info.get("icc_profile") or None
    try:
        exif = im.getexif()
        orientation = int(exif.get(ExifTags.Base.Orientation, 1))
        gps = ExifTags.IFD.GPSInfo in exif or bool(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except Exception:  # noqa: BLE001 - EXIF is attacker-controlled; a broken block is ignored
        orientation, gps = 1, False
    xmp = im.info.get("xmp") or b""
    gps = gps or b"GPSLatitude" in (xmp.encode() if isinstance(xmp, str) else xmp)
    return Meta(orientation if 1 <= orientation <= 8 else 1, gps, icc)


def _draft(im: Image.Image, scale: float) -> None:
    if scale > 0.5:
        return  # DCT scaling halves at least; nothing to gain
    width, height = im.size
    im.draft(im.mode, (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))


def _load(name: str, im: Image.Image, data: bytes) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except Exception as exc:  # noqa: BLE001 - truncated and corrupt files raise many kinds of error
        raise AssetRefused(damage_finding(name, exc, im.format, data)) from exc


def decode(name: str, im: Image.Image, header: Header, data: bytes,
           scale_for: Callable[[tuple[int, int]], float]) -> tuple[Image.Image, Meta]:
    """Decode the first frame, drafted to `scale_for(displayed size)` for JPEGs, with EXIF orientation applied."""
    meta = read_meta(im) if header.format in DRAFTABLE else None
    if meta is not None:
        _draft(im, scale_for(oriented(header.size, meta.orientation)))
    _load(name, im, data)
    if meta is None:  # PNG keeps EXIF after the pixels: read it once they are loaded
        meta = read_meta(im)
    if meta.orientation != 1:
        ImageOps.exif_transpose(im, in_place=True)
    return im, meta


def _sixteen_bit(im: Image.Image, bits: int) -> Image.Image:
    wide = im if im.mode == "I" else im.convert("I")
    if bits > 8:
        wide = wide.point(lambda v: v * (1 / 256))  # 0..65535 -> 0..255; convert("L") alone would clip
    return wide.convert("L")


def _flatten(name: str, im: Image.Image) -> tuple[Image.Image, list[Finding]]:
    low, _ = im.getchannel("A").getextrema()
    if low == 255:
        return im.convert("RGB"), []
    flat = Image.new("RGB", im.size, (255, 255, 255))
    flat.paste(im, mask=im.getchannel("A"))
    return flat, [finding("ASSET_TRANSPARENCY_FLATTENED", asset=name)]


def _convert(name: str, im: Image.Image) -> Image.Image:
    try:
        return im.convert(_SIMPLE_MODES[im.mode])
    except (KeyError, ValueError, OSError) as exc:
        kind = Text(f"gambar dengan mode warna {im.mode}", f"an image in colour mode {im.mode}")
        raise AssetRefused(finding("ASSET_UNSUPPORTED_FORMAT", asset=name, kind=kind,
                                   advice=Text("Ekspor ulang sebagai JPEG atau PNG RGB.",
                                               "Re-export it as an RGB JPEG or PNG."))) from exc


def normalize(name: str, im: Image.Image, header: Header) -> tuple[Image.Image, list[Finding]]:
    """Bring decoded pixels to RGB, L or CMYK (8-bit, opaque), reporting each conversion."""
    findings: list[Finding] = []
    if header.bit_depth > 8:
        findings.append(finding("ASSET_16BIT_REDUCED", asset=name, bits=header.bit_depth))
    if im.mode in ("P", "PA"):
        findings.append(finding("ASSET_PALETTE_CONVERTED", asset=name))
        im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
    elif im.mode.startswith("I"):
        im = _sixteen_bit(im, header.bit_depth)
    elif im.mode not in _WORKING_MODES and im.mode != "RGBA":
        im = _convert(name, im)
    if im.mode == "RGBA":
        im, flattened = _flatten(name, im)
        findings += flattened
    return im, findings


def frame_finding(name: str, header: Header) -> Finding | None:
    """A warning that only the first frame of an animation or multi-page file is used."""
    if header.frames <= 1:
        return None
    code = "ASSET_ANIMATED" if header.animated and header.format != "TIFF" else "ASSET_MULTI_FRAME"
    return finding(code, asset=name, frames=header.frames)
