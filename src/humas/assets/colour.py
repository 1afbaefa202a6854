"""Colour management: every published file is sRGB, converted through the file's own ICC profile.

A CMYK print export or an Adobe RGB / Display P3 photo is converted with LittleCMS (ImageCms) from the
profile embedded in the file to sRGB, relative colorimetric with black point compensation, so colours
do not shift. A CMYK file without a profile falls back to Pillow's generic formula, with a warning.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageCms

from humas.assets.codes import finding
from humas.assets.model import Finding

SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
SRGB_ICC = SRGB_PROFILE.tobytes()
_SPACE = {"RGB": "RGB", "L": "GRAY", "CMYK": "CMYK"}


@dataclass(frozen=True)
class ColourPlan:
    """How to turn pieces of one asset (mode RGB, L or CMYK) into sRGB RGB."""

    transform: ImageCms.ImageCmsTransform | None
    findings: tuple[Finding, ...] = ()

    def apply(self, im: Image.Image) -> Image.Image:
        if self.transform is not None:
            return ImageCms.applyTransform(im, self.transform)
        return im if im.mode == "RGB" else im.convert("RGB")


def is_srgb(description: str) -> bool:
    """True for the usual names of sRGB profiles ('sRGB IEC61966-2.1', Facebook's compact 'c2')."""
    text = description.strip().lower()
    return "srgb" in text.replace(" ", "") or text in ("c2", "c2ci")


@lru_cache(maxsize=16)
def _transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform:
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    return ImageCms.buildTransform(
        source, SRGB_PROFILE, mode, "RGB",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
    )


def _describe(icc: bytes) -> tuple[str, str]:
    """(colour space, description) of a profile; raise on a profile LittleCMS cannot read."""
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    space = (profile.profile.xcolor_space or "").strip()
    description = (profile.profile.profile_description or "").strip() or "tanpa nama / unnamed"
    return space, description


def _invalid(name: str, mode: str, detail: str) -> ColourPlan:
    findings = [finding("ASSET_PROFILE_INVALID", asset=name, detail=detail)]
    if mode == "CMYK":
        findings.append(finding("ASSET_CMYK_NO_PROFILE", asset=name))
    return ColourPlan(None, tuple(findings))


def plan_colour(name: str, mode: str, icc: bytes | None) -> ColourPlan:
    """The conversion to sRGB for an asset whose pixels are `mode` with embedded profile `icc`."""
    if not icc:
        missing = (finding("ASSET_CMYK_NO_PROFILE", asset=name),) if mode == "CMYK" else ()
        return ColourPlan(None, missing)
    try:
        space, description = _describe(icc)
    except Exception as exc:  # noqa: BLE001 - a hostile profile can fail in many ways inside LittleCMS
        return _invalid(name, mode, f"{type(exc).__name__}: {exc}"[:160])
    if space != _SPACE.get(mode):
        return _invalid(name, mode, f"profile is {space or '?'}, pixels are {mode}")
    if mode == "RGB" and is_srgb(description):
        return ColourPlan(None)
    try:
        transform = _transform(icc, mode)
    except Exception as exc:  # noqa: BLE001
        return _invalid(name, mode, f"{type(exc).__name__}: {exc}"[:160])
    code = "ASSET_CMYK_CONVERTED" if mode == "CMYK" else "ASSET_PROFILE_CONVERTED"
    return ColourPlan(transform, (finding(code, asset=name, profile=description[:60]),))
