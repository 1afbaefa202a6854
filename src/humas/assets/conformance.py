"""Does a file satisfy a placement? The same profile data the platform sandbox enforces, read from the bytes."""
from __future__ import annotations

import io

from PIL import ExifTags, Image, ImageCms

from humas.assets.colour import is_srgb
from humas.profiles import Placement

ASPECT_TOLERANCE = 1e-9


def _aspect_problem(width: int, height: int, placement: Placement) -> str | None:
    aspect = width / height
    if placement.min_aspect is not None and aspect < placement.min_aspect - ASPECT_TOLERANCE:
        return f"aspect {aspect:.4f} is below {placement.min_aspect}"
    if placement.max_aspect is not None and aspect > placement.max_aspect + ASPECT_TOLERANCE:
        return f"aspect {aspect:.4f} is above {placement.max_aspect}"
    return None


def _profile_problem(icc: bytes | None) -> str | None:
    if not icc:
        return None  # untagged is read as sRGB by every platform
    try:
        description = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.profile_description or ""
    except Exception as exc:  # noqa: BLE001
        return f"unreadable colour profile ({type(exc).__name__})"
    return None if is_srgb(description) else f"colour profile {description!r} is not sRGB"


def _metadata_problems(im: Image.Image) -> list[str]:
    exif = im.getexif()
    problems = []
    if ExifTags.IFD.GPSInfo in exif or exif.get_ifd(ExifTags.IFD.GPSInfo):
        problems.append("carries EXIF GPS location")
    if len(exif):
        problems.append(f"carries EXIF ({len(exif)} tags)")
    if im.info.get("xmp"):
        problems.append("carries XMP metadata")
    return problems


def rendition_problems(data: bytes, placement: Placement) -> list[str]:
    """Why `data` would be refused for `placement` (English), or [] when it satisfies the profile."""
    problems = [] if len(data) <= placement.max_bytes else [f"{len(data)} bytes is over {placement.max_bytes}"]
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt, (width, height), mode = im.format, im.size, im.mode
            problems += _metadata_problems(im)
            profile = _profile_problem(im.info.get("icc_profile"))
    except Exception as exc:  # noqa: BLE001
        return problems + [f"not readable as an image ({type(exc).__name__}: {exc})"]
    if fmt not in placement.formats:
        problems.append(f"format {fmt} is not one of {', '.join(placement.formats)}")
    if mode != placement.color_mode:
        problems.append(f"colour mode {mode} is not {placement.color_mode}")
    if not placement.min_width <= width <= placement.max_width:
        problems.append(f"width {width}px is outside {placement.min_width}..{placement.max_width}px")
    aspect = _aspect_problem(width, height, placement)
    return problems + [p for p in (aspect, profile) if p]
