"""The crop/pad policy: where an asset's pixels go in each placement's rendition.

Policy (docs/asset-checks.md explains it for staff):
- Target ratio: the placement's `recommended_aspect` when it has one (Instagram story 9:16), otherwise
  the picture's own ratio clamped into [min_aspect, max_aspect] (Instagram feed 4:5..1.91:1).
- `fit: pad` (default) keeps the whole design and fills the bars with the picture's edge colour;
  `fit: crop` cuts the centre. A crop may cut away at most a third of the picture; a pad must leave
  the picture covering at least half of a frame at the nearest accepted ratio (padding up to a merely
  recommended ratio, like a photo centred in a 9:16 story, is always allowed). Beyond that: an error.
- Width: the placement's target width, never more than the picture has (no upscaling), never more than
  max_width; height is capped at max_width too. Below min_width the asset is too small (an error).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from humas.assets.limits import Limits
from humas.profiles import Placement

_SAME_RATIO = 0.001  # relative difference below which two ratios are the same


@dataclass(frozen=True)
class Fit:
    """Where one asset's pixels go in one placement's rendition (source = displayed, full resolution)."""

    placement: Placement
    policy: str  # "pad" | "crop"
    source: tuple[int, int]
    box: tuple[float, float, float, float]  # region of the source that is used
    picture: tuple[int, int]  # size of that region in the output
    out: tuple[int, int]  # output size: the picture plus any padding
    offset: tuple[int, int]  # where the picture sits in the output
    adjusted: bool  # the ratio was changed (cropped or padded)
    share: float  # crop: share of the picture kept; pad: share of a frame at the hard range it covers
    natural_width: int  # the widest output this source can give without upscaling
    too_small: bool
    capped: bool  # the height cap (max_width) squeezed the width below min_width
    too_extreme: bool

    @property
    def scale(self) -> float:
        """Output pixels per source pixel."""
        return self.picture[0] / (self.box[2] - self.box[0])

    @property
    def source_aspect(self) -> float:
        return self.source[0] / self.source[1]

    @property
    def out_aspect(self) -> float:
        return self.out[0] / self.out[1]


def clamp_aspect(aspect: float, placement: Placement) -> float:
    if placement.min_aspect is not None and aspect < placement.min_aspect:
        return placement.min_aspect
    if placement.max_aspect is not None and aspect > placement.max_aspect:
        return placement.max_aspect
    return aspect


def target_aspect(aspect: float, placement: Placement) -> float:
    """The ratio a rendition gets: the recommended one, else the source's clamped into range."""
    target = placement.recommended_aspect or clamp_aspect(aspect, placement)
    return aspect if abs(target / aspect - 1) < _SAME_RATIO else target


def _crop_box(width: int, height: int, target: float) -> tuple[float, float, float, float]:
    if width / height > target:
        keep = height * target
        return ((width - keep) / 2, 0.0, (width + keep) / 2, float(height))
    keep = width / target
    return (0.0, (height - keep) / 2, float(width), (height + keep) / 2)


def _canvas(width: int, height: int, target: float, policy: str) -> tuple[float, float]:
    if policy == "crop":
        x0, y0, x1, y1 = _crop_box(width, height, target)
        return (x1 - x0, y1 - y0)
    if width / height > target:
        return (float(width), width / target)
    return (height * target, float(height))


def _in_range(width: int, height: int, placement: Placement) -> bool:
    aspect = width / height
    low_ok = placement.min_aspect is None or aspect >= placement.min_aspect
    return low_ok and (placement.max_aspect is None or aspect <= placement.max_aspect)


def _out_size(canvas: tuple[float, float], placement: Placement) -> tuple[int, int]:
    """Output size for a canvas: target width without upscaling, both sides capped at max_width."""
    ratio = canvas[0] / canvas[1]
    width = max(1, min(placement.target_width, placement.max_width, math.floor(canvas[0])))
    height = max(1, round(width / ratio))
    if height > placement.max_width:
        height = placement.max_width
        width = max(1, round(height * ratio))
    for _ in range(4):  # rounding must not push the file out of the accepted range
        if _in_range(width, height, placement):
            break
        height += 1 if placement.max_aspect is not None and width / height > placement.max_aspect else -1
    return width, height


def plan_fit(source: tuple[int, int], placement: Placement, policy: str, limits: Limits) -> Fit:
    """Where the pixels of a `source`-sized (displayed) picture go in `placement`'s rendition."""
    width, height = source
    aspect = width / height
    target = target_aspect(aspect, placement)
    reference = target if policy == "crop" else clamp_aspect(aspect, placement)
    share = min(aspect, reference) / max(aspect, reference)
    box = _crop_box(width, height, target) if policy == "crop" else (0.0, 0.0, float(width), float(height))
    canvas = _canvas(width, height, target, policy)
    out = _out_size(canvas, placement)
    scale = out[0] / canvas[0]
    picture = out if policy == "crop" else (min(out[0], max(1, round(width * scale))),
                                           min(out[1], max(1, round(height * scale))))
    natural = min(placement.target_width, placement.max_width, math.floor(canvas[0]))
    capped = natural >= placement.min_width and out[0] < placement.min_width
    return Fit(
        placement=placement, policy=policy, source=source, box=box, picture=picture, out=out,
        offset=((out[0] - picture[0]) // 2, (out[1] - picture[1]) // 2),
        adjusted=target != aspect, share=share, natural_width=natural,
        too_small=natural < placement.min_width, capped=capped,
        too_extreme=share < minimum_share(policy, limits) or capped,
    )


def minimum_share(policy: str, limits: Limits) -> float:
    return limits.crop_min_keep if policy == "crop" else limits.pad_min_fill
