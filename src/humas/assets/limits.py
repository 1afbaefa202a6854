"""The asset-check policy values that are not platform limits (those live in include/platforms.yaml)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Safety and quality thresholds of the design check; the defaults are the documented policy."""

    max_input_bytes: int = 64 * 1024 * 1024
    """Files larger than this are refused before any parsing (no phone or Canva export comes near it)."""
    max_video_input_bytes: int = 2 * 1024 * 1024 * 1024
    """A video larger than this is refused before it is downloaded (the largest platform limit we post to
    is Facebook's; no Reel or X video comes near it)."""
    max_pixels: int = 100_000_000
    """Declared width x height above this is a decompression bomb, refused from the header.
    Keep it at or below 2 x PIL.Image.MAX_IMAGE_PIXELS (about 179 MP), where Pillow refuses anyway."""
    crop_min_keep: float = 2 / 3
    """`fit: crop` may cut away at most a third of the picture; beyond that the designer must re-export."""
    pad_min_fill: float = 0.5
    """`fit: pad` must leave the picture covering at least half of the frame."""
    recommended_width: int = 1080
    """Below this width (or the placement's target width, if smaller) a warning says it may look blurry."""
    jpeg_quality: int = 90
    """First JPEG quality tried for a rendition; lowered (binary search) only to fit the byte limit."""
    jpeg_min_quality: int = 40
    """Below this quality the rendition is made smaller instead."""
    near_duplicate_bits: int = 4
    """Two images whose 64-bit difference hashes differ in at most this many bits look the same."""
    preview_tile: int = 300
    """Edge of one thumbnail on the preview sheet, in pixels."""


DEFAULT_LIMITS = Limits()
