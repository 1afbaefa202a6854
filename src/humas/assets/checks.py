"""Checks of an asset against one placement, of the item as a whole, and for duplicates."""
from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from humas.assets.codes import Text, aspect_text, finding, range_text, size_text
from humas.assets.encode import output_format
from humas.assets.geometry import Fit, minimum_share
from humas.assets.limits import Limits
from humas.assets.model import Finding
from humas.assets.probe import Header
from humas.profiles import ChannelProfile, Placement

_SAME_FORMAT = {"MPO": "JPEG"}


def channel_label(profile: ChannelProfile, placement: Placement) -> str:
    """'Instagram feed', 'Instagram story', 'Facebook Page', 'X'."""
    if len(profile.placements) > 1:
        return f"{profile.display_name} {placement.name}"
    return profile.display_name


def file_findings(name: str, header: Header, n_bytes: int, channel: str, label: str,
                  placement: Placement) -> list[Finding]:
    """Format and byte size of the original against the placement (both fixed by the rendition)."""
    found = []
    fmt = _SAME_FORMAT.get(header.format, header.format)
    if fmt not in placement.formats:
        found.append(finding("ASSET_FORMAT_CONVERTED", asset=name, channel=channel, channel_name=label,
                             format=fmt, target_format=output_format(placement)))
    if n_bytes > placement.max_bytes:
        found.append(finding("ASSET_FILE_TOO_LARGE", asset=name, channel=channel, channel_name=label,
                             size=size_text(n_bytes), limit=size_text(placement.max_bytes)))
    return found


def _suggest(fit: Fit) -> Text:
    placement = fit.placement
    ratio = placement.recommended_aspect or (placement.min_aspect if fit.source_aspect < 1 else placement.max_aspect)
    if ratio is None:
        return Text("4:5 atau 1:1", "4:5 or 1:1")
    return aspect_text(ratio)


def _extreme_detail(fit: Fit, limits: Limits) -> Text:
    if fit.capped and fit.share >= minimum_share(fit.policy, limits):
        return Text(f"lebarnya hanya tersisa {fit.out[0]} piksel", f"it would be only {fit.out[0]} px wide")
    percent = round(fit.share * 100)
    if fit.policy == "crop":
        return Text(f"memotongnya akan membuang {100 - percent}% gambar",
                    f"cropping would cut away {100 - percent}% of the picture")
    return Text(f"gambar hanya akan mengisi {percent}% bingkai", f"the picture would fill only {percent}% of the frame")


def _aspect_findings(name: str, channel: str, label: str, fit: Fit, limits: Limits) -> list[Finding]:
    placement = fit.placement
    common = {"asset": name, "channel": channel, "channel_name": label, "aspect": aspect_text(fit.source_aspect)}
    if fit.too_extreme:
        return [finding("ASSET_ASPECT_OUT_OF_RANGE", range=range_text(placement.min_aspect, placement.max_aspect),
                        detail=_extreme_detail(fit, limits), suggest=_suggest(fit), **common)]
    if not fit.adjusted:
        return []
    if fit.policy == "crop":
        return [finding("ASSET_ASPECT_CROPPED", target=aspect_text(fit.out_aspect),
                        lost=round((1 - fit.share) * 100), **common)]
    return [finding("ASSET_ASPECT_PADDED", target=aspect_text(fit.out_aspect), **common)]


def fit_findings(name: str, channel: str, label: str, fit: Fit, limits: Limits) -> list[Finding]:
    """Resolution and aspect ratio against the placement, as the fit policy will treat them."""
    placement = fit.placement
    if fit.too_small:
        return [finding("ASSET_TOO_SMALL", asset=name, channel=channel, channel_name=label,
                        width=fit.natural_width, min_width=placement.min_width, target_width=placement.target_width)]
    found = _aspect_findings(name, channel, label, fit, limits)
    recommended = min(limits.recommended_width, placement.target_width)
    if fit.natural_width < recommended and not fit.too_extreme:
        found.append(finding("ASSET_LOW_RESOLUTION", asset=name, channel=channel, channel_name=label,
                             width=fit.natural_width, recommended=recommended))
    return found


def count_findings(n_assets: int, targets: dict[str, Placement], labels: dict[str, str]) -> list[Finding]:
    """The item as a whole: at least one image, and no more than each placement takes per post."""
    if n_assets == 0:
        return [finding("ITEM_NO_ASSETS")]
    return [finding("ASSET_TOO_MANY_ITEMS", channel=channel, channel_name=labels[channel],
                    max_items=placement.max_items, count=n_assets)
            for channel, placement in targets.items() if n_assets > placement.max_items]


# --- duplicates -----------------------------------------------------------------------------------

def dhash(thumbnail: Image.Image) -> int:
    """64-bit difference hash: which of each pair of horizontal neighbours is brighter, on a 9x8 grey copy."""
    small = thumbnail.convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    pixels = small.tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (pixels[row * 9 + col] > pixels[row * 9 + col + 1])
    return bits


@dataclass(frozen=True)
class Fingerprint:
    name: str
    sha256: str
    dhash: int | None


def duplicate_of(name: str, digest: str, earlier: list[Fingerprint]) -> Finding | None:
    """ASSET_DUPLICATE when an earlier asset has exactly the same bytes."""
    for other in earlier:
        if other.sha256 == digest:
            return finding("ASSET_DUPLICATE", asset=name, other=other.name)
    return None


def near_duplicates(prints: list[Fingerprint], limits: Limits) -> list[Finding]:
    """ASSET_NEAR_DUPLICATE for each asset that looks like an earlier one without being the same bytes."""
    found = []
    for index, current in enumerate(prints):
        for other in prints[:index]:
            if current.dhash is None or other.dhash is None or current.sha256 == other.sha256:
                continue
            if bin(current.dhash ^ other.dhash).count("1") <= limits.near_duplicate_bits:
                found.append(finding("ASSET_NEAR_DUPLICATE", asset=current.name, other=other.name))
                break
    return found
