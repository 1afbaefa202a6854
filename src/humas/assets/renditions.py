"""Cutting one decoded asset into the files each placement needs.

Each rendition is resized from the (drafted) decode with Lanczos and a reducing gap, or from a larger
picture of the same region already made (Instagram 1080 px from Facebook's 2048 px), converted to
sRGB, padded or cropped by its `Fit`, and encoded at the highest JPEG quality that fits the byte
limit. Renditions with the same geometry (Facebook and X at 2048 px) share one resize and one encode.
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, replace

from PIL import Image, ImageStat

from humas.assets.codes import finding, size_text
from humas.assets.colour import ColourPlan
from humas.assets.conformance import rendition_problems
from humas.assets.encode import EXTENSIONS, MIME_TYPES, Encoder, output_format
from humas.assets.geometry import Fit, plan_fit
from humas.assets.limits import Limits
from humas.assets.model import Finding, Rendition

REDUCING_GAP = 2.0
CASCADE = 1.5  # a picture at least this much larger than needed is a good enough source to resize from
SHRINK_STEP = 0.85
MAX_SHRINKS = 6


@dataclass(frozen=True)
class Source:
    """One decoded asset, ready to be cut: upright pixels in RGB, L or CMYK, possibly drafted smaller."""

    index: int
    name: str
    image: Image.Image
    size: tuple[int, int]  # displayed size at full resolution; Fit boxes are in these coordinates
    colour: ColourPlan
    subsampling: int

    @property
    def draft_scale(self) -> float:
        return self.image.size[0] / self.size[0]


def rendition_name(index: int, source_name: str, fmt: str) -> str:
    """'Poster HUT Kota.PNG', 1, JPEG -> '01-poster-hut-kota.jpg' (brief order first, so names sort)."""
    stem = unicodedata.normalize("NFKD", os.path.splitext(source_name)[0]).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-").lower()[:60].strip("-") or "gambar"
    return f"{index:02d}-{slug}.{EXTENSIONS.get(fmt, fmt.lower())}"


def _pad_colour(picture: Image.Image, fit: Fit) -> tuple[int, ...]:
    """The mean colour of the picture's edges that touch the bars, so the bars continue the design."""
    width, height = picture.size
    if fit.out[0] > width:
        strips = [picture.crop((0, 0, 1, height)), picture.crop((width - 1, 0, width, height))]
    else:
        strips = [picture.crop((0, 0, width, 1)), picture.crop((0, height - 1, width, height))]
    means = [ImageStat.Stat(strip).mean for strip in strips]
    return tuple(round(sum(channel) / len(means)) for channel in zip(*means))


class Renderer:
    """Makes the renditions of one `Source`, reusing pieces and encodes between placements."""

    def __init__(self, source: Source, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self._pictures: dict[tuple, Image.Image] = {}
        self._pieces: dict[tuple, Image.Image] = {}
        self._encoders: dict[tuple, Encoder] = {}

    def picture(self, fit: Fit) -> Image.Image:
        """The source region of `fit` at its output size, in sRGB: cascaded from a picture of the same region
        at least CASCADE times larger when one exists (cheaper than from the decode), else from the decode."""
        key = (fit.box, fit.picture)
        if key not in self._pictures:
            larger = [image for (box, size), image in self._pictures.items() if box == fit.box
                      and size[0] >= fit.picture[0] * CASCADE and size[1] >= fit.picture[1] * CASCADE]
            if larger:
                picture = min(larger, key=lambda image: image.width).resize(fit.picture, Image.Resampling.LANCZOS)
            else:
                box = tuple(v * self.source.draft_scale for v in fit.box)
                picture = self.source.image.resize(fit.picture, Image.Resampling.LANCZOS, box=box,
                                                   reducing_gap=REDUCING_GAP)
                picture = self.source.colour.apply(picture)
            self._pictures[key] = picture
        return self._pictures[key]

    def piece(self, fit: Fit) -> Image.Image:
        """The finished RGB image for `fit`: its picture, padded to `fit.out` with the edge colour."""
        key = (fit.box, fit.picture, fit.out, fit.offset)
        if key not in self._pieces:
            picture = self.picture(fit)
            if picture.size != fit.out:
                canvas = Image.new("RGB", fit.out, _pad_colour(picture, fit))
                canvas.paste(picture, fit.offset)
                picture = canvas
            self._pieces[key] = picture
        return self._pieces[key]

    def _encoder(self, fit: Fit, fmt: str) -> Encoder:
        key = (fit.box, fit.picture, fit.out, fit.offset, fmt)
        if key not in self._encoders:
            self._encoders[key] = Encoder(self.piece(fit), fmt, self.source.subsampling)
        return self._encoders[key]

    def _fitting(self, fit: Fit, fmt: str) -> tuple[Fit, bytes, int] | None:
        """The fit, bytes and quality of the largest, best file under the byte limit (shrinking if needed)."""
        for _ in range(MAX_SHRINKS + 1):
            found = self._encoder(fit, fmt).within(fit.placement.max_bytes, self.limits.jpeg_quality,
                                                   self.limits.jpeg_min_quality)
            if found is not None:
                return fit, found[0], found[1]
            narrower = replace(fit.placement, target_width=int(fit.out[0] * SHRINK_STEP))
            fit = plan_fit(fit.source, narrower, fit.policy, self.limits)
            if fit.out[0] < fit.placement.min_width:
                return None
        return None

    def render(self, channel: str, fit: Fit, label: str) -> tuple[Rendition | None, list[Finding]]:
        """The rendition for `channel` (called `label` in messages), or None with the error that says why not."""
        fmt = output_format(fit.placement)
        name = self.source.name
        fitted = self._fitting(fit, fmt)
        if fitted is None:
            return None, [finding("ASSET_RENDITION_TOO_LARGE", asset=name, channel=channel, channel_name=label,
                                  limit=size_text(fit.placement.max_bytes))]
        final, data, quality = fitted
        problems = rendition_problems(data, fit.placement)
        if problems:
            return None, [finding("ASSET_RENDITION_INVALID", asset=name, channel=channel, channel_name=label,
                                  detail="; ".join(problems))]
        notes = []
        if quality < self.limits.jpeg_quality or final.out != fit.out:
            notes.append(finding("ASSET_QUALITY_REDUCED", asset=name, channel=channel, channel_name=label,
                                 quality=quality, limit=size_text(fit.placement.max_bytes)))
        return self._rendition(channel, final, fmt, data), notes

    def _rendition(self, channel: str, fit: Fit, fmt: str, data: bytes) -> Rendition:
        return Rendition(
            channel=channel, placement=fit.placement.name, source=self.source.name,
            name=rendition_name(self.source.index, self.source.name, fmt), data=data,
            sha256=hashlib.sha256(data).hexdigest(), width=fit.out[0], height=fit.out[1], format=fmt,
            content_type=MIME_TYPES.get(fmt, "application/octet-stream"),
        )

    def thumbnail(self, edge: int) -> Image.Image:
        """An sRGB thumbnail within `edge` x `edge` for the preview sheet and the duplicate hash."""
        width, height = self.source.image.size
        scale = min(edge / width, edge / height, 1.0)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = self.source.image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        return self.source.colour.apply(small)

