"""The design check of one video asset (or animated GIF): its header probed, each channel's limits checked, a
rendition made per distinct spec and checked again as the platform will check it, a cover and the preview tile.

Everything works on files in the check's work folder: a video is never whole in memory. Channels whose
placements give the same spec share one transcode. An animated GIF goes to a placement that takes GIFs as it is
(X); everywhere else it becomes an MP4 like any video.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from humas.assets.codes import finding
from humas.assets.model import Finding, Rendition
from humas.assets.probe import AssetRefused
from humas.video.checks import asset_findings, gif_kept, rendition_video_problems, video_findings
from humas.video.probe import VideoInfo, probe_video
from humas.video.render import VideoSpec, cover_jpeg, frames_at, render_video, spec_for, video_tile

if TYPE_CHECKING:
    from PIL import Image

    from humas.assets.check import Target
    from humas.assets.limits import Limits

COVER_AT = 0.1   # the cover frame: a tenth into the video (the very first frame is often black)


@dataclass
class VideoOutcome:
    """What one video asset produced for the item's review."""

    findings: list[Finding] = field(default_factory=list)
    renditions: list[Rendition] = field(default_factory=list)
    thumbnail: "Image.Image | None" = None


def check_video(name: str, path: Path, targets: dict[str, "Target"], fit: str, limits: "Limits",
                skip: set[str], workdir: Path) -> VideoOutcome:
    """Check the video at ``path`` for every target; renditions (files in ``workdir``) for channels not in
    ``skip`` and not blocked by a finding. A hostile or unreadable file gives one refusal finding."""
    outcome = VideoOutcome()
    try:
        info = probe_video(name, path)
    except AssetRefused as refused:
        outcome.findings.append(refused.finding)
        return outcome
    outcome.findings += asset_findings(name, info)
    made: dict[VideoSpec, Rendition] = {}
    for channel, target in targets.items():
        found = video_findings(name, info, channel, target.label, target.placement)
        rendition = None
        if channel not in skip and not any(f.blocking for f in found):
            if gif_kept(info, target.placement):
                rendition = _gif_as_is(name, path, info, target)
            else:
                rendition, more = _rendition(name, path, target, fit, workdir, made)
                found += more
        outcome.findings += found
        if rendition is not None:
            outcome.renditions.append(rendition)
    outcome.thumbnail = video_tile(frames_at(path), info.duration, limits.preview_tile)
    return outcome


def _gif_as_is(name: str, path: Path, info: VideoInfo, target: "Target") -> Rendition:
    """The animated GIF itself (its size already checked against the placement's GIF limit)."""
    data = path.read_bytes()
    return Rendition(target.channel, target.placement.name, name, Path(name).stem + ".gif", data,
                         hashlib.sha256(data).hexdigest(), info.width, info.height, "GIF", "image/gif", kind="gif",
                         duration=info.duration)


def _rendition(name: str, path: Path, target: "Target", fit: str, workdir: Path,
               made: dict[VideoSpec, Rendition]) -> tuple[Rendition | None, list[Finding]]:
    """The channel's MP4: made once per spec, then checked against the placement as the platform will."""
    spec = spec_for(target.placement, fit)
    if spec not in made:
        dst = workdir / f"{len(made) + 1}-{Path(name).stem}.mp4"
        video = render_video(path, dst, spec)
        cover = cover_jpeg(dst, video.duration * COVER_AT)
        made[spec] = Rendition(target.channel, target.placement.name, name, Path(name).stem + ".mp4", b"",
                               video.sha256, video.width, video.height, "MP4", video.content_type, kind="video",
                               path=str(dst), duration=video.duration, cover=cover)
    shared = made[spec]
    problems = rendition_video_problems(probe_video(shared.name, Path(shared.path or "")), target.placement)
    if problems:
        return None, [finding("ASSET_RENDITION_INVALID", asset=name, channel=target.channel,
                              channel_name=target.label, detail="; ".join(problems))]
    return Rendition(target.channel, target.placement.name, name, shared.name, b"", shared.sha256, shared.width,
                     shared.height, "MP4", shared.content_type, kind="video", path=shared.path,
                     duration=shared.duration, cover=shared.cover), []
