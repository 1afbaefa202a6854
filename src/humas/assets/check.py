"""check_assets: every check, the renditions and the preview sheet for one content item.

Assets are handled one at a time, so memory holds one decoded (drafted) image at once. An asset is
opened header-only and refused before decoding when it is not a usable image or declares too many
pixels; otherwise its first frame is decoded once, at the smallest JPEG scale the renditions need,
and every channel's rendition is cut from that decode. A channel with any error finding gets no
renditions at all; every other channel gets one per asset, in brief order.
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from humas.assets import checks
from humas.assets.caption import check_caption
from humas.assets.codes import finding
from humas.assets.colour import plan_colour
from humas.assets.decode import Meta, decode, frame_finding, normalize, oriented
from humas.assets.geometry import Fit, plan_fit
from humas.assets.limits import DEFAULT_LIMITS, Limits
from humas.assets.model import AssetReview, Finding, Rendition
from humas.assets.preview import GREEN, ORANGE, RED, Tile, Verdict, preview_sheet
from humas.assets.probe import AssetRefused, Header, extension_finding, open_header
from humas.assets.renditions import Renderer, Source
from humas.exceptions import HumasError
from humas.profiles import ChannelProfile, Placement, load_profiles
from humas.video.checks import gif_kept
from humas.video.probe import HEAD_BYTES, media_kind

# An asset: its name and either its bytes (an image) or the file it was saved to (any asset, a video always).
Asset = tuple[str, "bytes | Path"]

FITS = ("pad", "crop")
log = logging.getLogger(__name__)


@dataclass
class Target:
    """One requested channel: its placement and how staff call it."""

    channel: str
    placement: Placement
    label: str


@dataclass
class Outcome:
    """What one asset produced."""

    name: str
    sha256: str
    findings: list[Finding] = field(default_factory=list)
    renditions: list[Rendition] = field(default_factory=list)
    thumbnail: Image.Image | None = None
    dhash: int | None = None


def resolve_targets(item_id: str, channels: list[str], overrides: dict[str, str] | None,
                    profiles: dict[str, ChannelProfile], kinds: tuple[str, ...] = ()) -> dict[str, Target]:
    """The placement of each requested channel (its default unless overridden, see ``_default``); raise naming
    a bad one. ``kinds`` are the item's assets' kinds in brief order ("image", "video", "gif")."""
    overrides = overrides or {}
    strays = sorted(set(overrides) - set(channels))
    if strays:
        raise HumasError(f"item {item_id}: placements given for channels {strays} that are not requested")
    targets = {}
    for channel in channels:
        profile = profiles.get(channel)
        if profile is None:
            raise HumasError(f"item {item_id}: unknown channel {channel!r}; use one of {sorted(profiles)}")
        name = overrides.get(channel) or _default(profile, kinds)
        if name not in profile.placements:
            raise HumasError(f"item {item_id}: {channel} has no placement {name!r}; use one of "
                             f"{sorted(profile.placements)}")
        placement = profile.placements[name]
        targets[channel] = Target(channel, placement, checks.channel_label(profile, placement))
    return targets


def _default(profile: ChannelProfile, kinds: tuple[str, ...]) -> str:
    """The channel's default placement, unless the item has a video it cannot post: then its video placement.
    A lone video goes to the video placement (a single Instagram video is a Reel); an animated GIF counts as an
    image where the placement posts GIFs (X)."""
    placement = profile.default
    videos = [k for k in kinds if k == "video" or (k == "gif" and placement.max_gif_bytes is None)]
    if not videos or not profile.default_video_placement:
        return profile.default_placement
    if len(kinds) > 1 and placement.video is not None:
        return profile.default_placement   # a carousel that takes videos
    return profile.default_video_placement


def _plan(size: tuple[int, int], targets: dict[str, Target], policy: str, limits: Limits) -> dict[str, Fit]:
    return {c: plan_fit(size, t.placement, policy, limits) for c, t in targets.items()}


def _draft_scale(fits: dict[str, Fit], size: tuple[int, int], limits: Limits) -> float:
    """The largest scale any rendition (or the preview thumbnail) needs from the source."""
    thumb = limits.preview_tile / max(size)
    return min(1.0, max([f.scale for f in fits.values()] + [thumb]))


def _channel_findings(name: str, header: Header, n_bytes: int, fits: dict[str, Fit],
                      targets: dict[str, Target], limits: Limits) -> list[Finding]:
    found = []
    for channel, fit in fits.items():
        label = targets[channel].label
        found += checks.file_findings(name, header, n_bytes, channel, label, fit.placement)
        found += checks.fit_findings(name, channel, label, fit, limits)
    return found


def _blocked(findings: list[Finding], channels) -> set[str]:
    return {c for c in channels if any(f.blocking and f.applies_to(c) for f in findings)}


def _metadata_findings(name: str, meta: Meta) -> list[Finding]:
    found = []
    if meta.orientation != 1:
        found.append(finding("ASSET_ORIENTATION_APPLIED", asset=name, orientation=meta.orientation))
    if meta.gps:
        found.append(finding("ASSET_GPS_REMOVED", asset=name))
    return found


def _render_all(renderer: Renderer, fits: dict[str, Fit], targets: dict[str, Target], skip: set[str],
                outcome: Outcome) -> None:
    for channel, fit in sorted(fits.items(), key=lambda item: -item[1].picture[0]):  # large first: cascade
        if channel in skip:
            continue
        rendition, found = renderer.render(channel, fit, targets[channel].label)
        outcome.findings += found
        if rendition is not None:
            outcome.renditions.append(rendition)


def _process(index: int, data: bytes, im: Image.Image, header: Header, targets: dict[str, Target],
             policy: str, limits: Limits, skip: set[str], outcome: Outcome) -> None:
    name = outcome.name
    outcome.findings += [f for f in (extension_finding(name, header), frame_finding(name, header)) if f]
    image, meta = decode(name, im, header, data,
                         lambda size: _draft_scale(_plan(size, targets, policy, limits), size, limits))
    size = oriented(header.size, meta.orientation)
    fits = _plan(size, targets, policy, limits)
    image, converted = normalize(name, image, header)
    colour = plan_colour(name, image.mode, meta.icc)
    outcome.findings += converted + list(colour.findings) + _metadata_findings(name, meta)
    outcome.findings += _channel_findings(name, header, len(data), fits, targets, limits)
    subsampling = header.subsampling if header.subsampling >= 0 else (2 if header.format == "JPEG" else 0)
    renderer = Renderer(Source(index, name, image, size, colour, subsampling), limits)
    _render_all(renderer, fits, targets, skip | _blocked(outcome.findings, targets), outcome)
    outcome.thumbnail = renderer.thumbnail(limits.preview_tile)
    outcome.dhash = checks.dhash(outcome.thumbnail)


def check_one(index: int, name: str, data: bytes, digest: str, targets: dict[str, Target], policy: str,
              limits: Limits, skip: set[str]) -> Outcome:
    """Check one asset (whose sha256 is `digest`) and make its renditions for every channel not in `skip`."""
    outcome = Outcome(name, digest)
    try:
        im, header = open_header(name, data, limits)
    except AssetRefused as refused:
        outcome.findings.append(refused.finding)
        return outcome
    try:
        _process(index, data, im, header, targets, policy, limits, skip, outcome)
    except AssetRefused as refused:
        outcome.findings.append(refused.finding)
        outcome.renditions.clear()
    except Exception as exc:  # noqa: BLE001 - one hostile file must not stop the item's report
        log.exception("checking asset %s failed", name)
        outcome.findings.append(finding("ASSET_CHECK_FAILED", asset=name, detail=f"{type(exc).__name__}: {exc}"[:200]))
        outcome.renditions.clear()
    finally:
        im.close()
    return outcome


def _verdicts(outcome: Outcome, targets: dict[str, Target], item_blocked: set[str]) -> list[Verdict]:
    verdicts = []
    for channel, target in targets.items():
        relevant = [f for f in outcome.findings if f.applies_to(channel)]
        errors = [f.code.removeprefix("ASSET_") for f in relevant if f.blocking]
        if errors:
            verdicts.append(Verdict(target.label, "PERBAIKI: " + ", ".join(errors), RED))
        elif channel in item_blocked:
            verdicts.append(Verdict(target.label, "tertahan (lihat catatan item)", RED))
        elif any(f.severity == "warning" for f in relevant):
            verdicts.append(Verdict(target.label, "OK, cek peringatan", ORANGE))
        else:
            verdicts.append(Verdict(target.label, "OK", GREEN))
    return verdicts


def _preview(item_id: str, outcomes: list[Outcome], item_findings: list[Finding], targets: dict[str, Target],
             ok: bool, limits: Limits) -> bytes | None:
    if not outcomes:
        return None
    item_blocked = _blocked(item_findings, targets)
    tiles = [Tile(o.name, o.thumbnail, _verdicts(o, targets, item_blocked)) for o in outcomes]
    notes = [f.message_id for f in item_findings if f.severity != "info"]
    return preview_sheet(item_id, tiles, ok, notes, limits.preview_tile)


def _kind(name: str, content: "bytes | Path") -> str:
    """"video", "gif" (an animated GIF, which some placements take as it is) or "image", from the first bytes."""
    if isinstance(content, bytes):
        return media_kind(name, content[:HEAD_BYTES])
    with open(content, "rb") as fh:
        return media_kind(name, fh.read(HEAD_BYTES))


def _digest(content: "bytes | Path") -> str:
    if isinstance(content, bytes):
        return hashlib.sha256(content).hexdigest()
    digest = hashlib.sha256()
    with open(content, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _image_bytes(content: "bytes | Path", limits: Limits) -> bytes:
    """An image's bytes; of a file, enough to refuse a huge one (ASSET_INPUT_TOO_LARGE) without reading it all."""
    if isinstance(content, bytes):
        return content
    with open(content, "rb") as fh:
        return fh.read(limits.max_input_bytes + 1)


def _video_only(name: str, targets: dict[str, Target], profiles: dict[str, ChannelProfile]) -> list[Finding]:
    """An image sent to a placement that takes only video (Instagram reels): an error naming the ones that do."""
    return [finding("ASSET_VIDEO_ONLY_PLACEMENT", asset=name, channel=channel, channel_name=target.label,
                    placements=", ".join(n for n, p in profiles[channel].placements.items() if p.takes_images))
            for channel, target in targets.items() if not target.placement.takes_images]


def _check_image(index: int, name: str, content: "bytes | Path", digest: str, targets: dict[str, Target],
                 policy: str, limits: Limits, skip: set[str], profiles: dict[str, ChannelProfile]) -> Outcome:
    images = {c: t for c, t in targets.items() if t.placement.takes_images}   # no image geometry for reels
    outcome = check_one(index, name, _image_bytes(content, limits), digest, images, policy, limits, skip)
    outcome.findings += _video_only(name, targets, profiles)
    return outcome


def _check_video(name: str, content: "bytes | Path", digest: str, targets: dict[str, Target], policy: str,
                 limits: Limits, skip: set[str], workdir: Path | None) -> Outcome:
    if workdir is None:
        raise HumasError(f"asset {name} is a video: check_assets needs a workdir for its renditions")
    # Imported here: FFmpeg's libraries load only for an item that has a video (and humas.video's frames use
    # humas.assets' colour profile, so a module-level import would go round in a circle).
    from humas.assets.video import check_video

    if isinstance(content, bytes):   # a GIF handed over in memory: the video tools read files
        path = workdir / f"original-{digest[:16]}{Path(name).suffix}"
        path.write_bytes(content)
        content = path
    found = check_video(name, content, targets, policy, limits, skip, workdir)
    outcome = Outcome(name, digest, found.findings, found.renditions, found.thumbnail)
    outcome.dhash = checks.dhash(found.thumbnail) if found.thumbnail else None
    return outcome


def _check_each(assets: list[Asset], kinds: tuple[str, ...], targets: dict[str, Target], policy: str,
                limits: Limits, item_findings: list[Finding], profiles: dict[str, ChannelProfile],
                workdir: Path | None) -> list[Outcome]:
    outcomes: list[Outcome] = []
    prints: list[checks.Fingerprint] = []
    skip = _blocked(item_findings, targets)
    for index, ((name, content), kind) in enumerate(zip(assets, kinds), start=1):
        digest = _digest(content)
        twin = checks.duplicate_of(name, digest, prints)
        if twin:
            outcome = Outcome(name, digest, [twin])
        elif kind == "image":
            outcome = _check_image(index, name, content, digest, targets, policy, limits, skip, profiles)
        else:
            outcome = _check_video(name, content, digest, targets, policy, limits, skip, workdir)
        outcomes.append(outcome)
        prints.append(checks.Fingerprint(name, digest, outcome.dhash))
    near = checks.near_duplicates(prints, limits)
    for outcome in outcomes:
        outcome.findings += [f for f in near if f.asset == outcome.name]
    return outcomes


def check_assets(item_id: str, assets: list[Asset], channels: list[str], caption: str | None, *,
                 placement_overrides: dict[str, str] | None = None, fit: str = "pad",
                 profiles: dict[str, ChannelProfile] | None = None, limits: Limits | None = None,
                 workdir: Path | None = None) -> AssetReview:
    """Check an item's assets and caption for `channels`; make renditions for every channel nothing blocks.

    `assets` are (file name, original bytes or the file it was saved to) in brief order; a video must come as a
    file, and its renditions are written to `workdir`. `fit` is "pad" or "crop" (docs/asset-checks.md); a None
    `caption` skips the caption checks. `profiles` and `limits` default to include/platforms.yaml and the
    documented policy.
    """
    profiles = profiles or load_profiles()
    limits = limits or DEFAULT_LIMITS
    if fit not in FITS:
        raise HumasError(f"item {item_id}: fit {fit!r} is not a fit policy; use pad or crop")
    names = [name for name, _ in assets]
    if len(set(names)) != len(names):
        raise HumasError(f"item {item_id}: asset names must be unique, got {names}")
    kinds = tuple(_kind(name, content) for name, content in assets)
    targets = resolve_targets(item_id, list(channels), placement_overrides, profiles, kinds)
    scratch = None
    if workdir is None and set(kinds) - {"image"}:   # the review keeps its renditions' folder while it lives
        scratch = tempfile.TemporaryDirectory(prefix="humas-video-")
        workdir = Path(scratch.name)
    labels = {c: t.label for c, t in targets.items()}
    item_findings = [] if caption is None else check_caption(caption, list(channels), profiles=profiles)
    item_findings += checks.count_findings(len(assets), {c: t.placement for c, t in targets.items()}, labels)
    outcomes = _check_each(assets, kinds, targets, fit, limits, item_findings, profiles, workdir)
    findings = item_findings + [f for o in outcomes for f in o.findings]
    blocked = _blocked(findings, targets)
    renditions = [r for c in targets if c not in blocked for o in outcomes for r in o.renditions if r.channel == c]
    return AssetReview(
        item_id=item_id, findings=findings, renditions=renditions,
        preview=_preview(item_id, outcomes, item_findings, targets, not any(f.blocking for f in findings), limits),
        asset_digests={o.name: o.sha256 for o in outcomes},
        channels=list(targets), placements={c: t.placement.name for c, t in targets.items()}, scratch=scratch,
    )
