"""Platform profiles (formats, sizes, aspect ratios, caption limits and how captions are counted) loaded from
include/platforms.yaml."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from humas.exceptions import HumasError
from humas.resources import cached, platforms_file

# How a channel counts a caption (`caption_counting` in platforms.yaml): code points, or X's weighted count.
CAPTION_COUNTINGS = ("chars", "weighted")


def x_weighted_length(text: str) -> int:
    """X's own count (twitter-text v3, the library X publishes, in its Python port): each URL 23, CJK and emoji
    2, an emoji sequence once, the rest 1. The platform sandbox counts with it too, as X does."""
    from twitter_text import parse_tweet   # here: its import compiles large regexes (~0.4 s) few callers need
    return parse_tweet(text).weightedLength


@dataclass(frozen=True)
class CaptionLimits:
    max_chars: int
    max_hashtags: int | None = None
    max_mentions: int | None = None


@dataclass(frozen=True)
class VideoLimits:
    """What one placement accepts of a video (the ``video:`` block of a placement in platforms.yaml).

    Containers are MP4 or MOV (read from the file's ``ftyp`` brand), codecs are FFmpeg's names (h264, hevc, aac),
    profiles FFmpeg's profile names (High, LC). ``target_*`` say what a rendition is made to: the video is scaled,
    never up, into target_width x target_height, at target_bitrate (bit/s) with AAC at target_audio_bitrate.
    """

    containers: tuple[str, ...]
    video_codecs: tuple[str, ...]
    audio_codecs: tuple[str, ...]
    min_seconds: float
    max_seconds: float
    max_bytes: int
    max_width: int
    target_width: int
    target_height: int
    target_bitrate: int
    target_audio_bitrate: int
    video_profiles: tuple[str, ...] | None = None
    audio_profiles: tuple[str, ...] | None = None
    max_audio_rate: int | None = None
    max_audio_channels: int | None = None
    min_width: int = 1
    min_height: int = 1
    max_height: int | None = None
    min_fps: float | None = None
    max_fps: float | None = None
    min_aspect: float | None = None
    max_aspect: float | None = None
    recommended_aspect: float | None = None


_VIDEO_TUPLES = ("containers", "video_codecs", "audio_codecs", "video_profiles", "audio_profiles")


def _video_limits(raw: dict | None) -> VideoLimits | None:
    if raw is None:
        return None
    return VideoLimits(**{k: (tuple(v) if k in _VIDEO_TUPLES and v is not None else v) for k, v in raw.items()})


@dataclass(frozen=True)
class Placement:
    """What one placement (e.g. Instagram feed) accepts: images (``formats``; none for a video-only placement
    such as Reels) and, when it takes video, ``video``."""

    channel: str
    name: str
    formats: tuple[str, ...]
    min_aspect: float | None
    max_aspect: float | None
    min_width: int
    max_width: int
    max_bytes: int
    color_mode: str
    max_items: int
    target_width: int
    recommended_aspect: float | None = None
    max_gif_bytes: int | None = None          # an animated GIF posted as GIF (X); None: GIFs become video
    video: VideoLimits | None = None

    @property
    def takes_images(self) -> bool:
        return bool(self.formats)


@dataclass(frozen=True)
class ChannelProfile:
    id: str
    display_name: str
    caption: CaptionLimits
    default_placement: str
    placements: dict[str, Placement] = field(default_factory=dict)
    caption_counting: str = "chars"  # one of CAPTION_COUNTINGS
    default_video_placement: str | None = None   # where a video goes when the brief names no placement

    @property
    def default(self) -> Placement:
        return self.placements[self.default_placement]

    def default_for(self, has_video: bool) -> Placement:
        """The placement an item goes to when its brief names none: the video one for an item with a video."""
        return self.placements[self.default_video_placement] if has_video and self.default_video_placement \
            else self.default

    def caption_length(self, text: str) -> int:
        """``text``'s length as this channel counts it against ``caption.max_chars``."""
        return x_weighted_length(text) if self.caption_counting == "weighted" else len(text)


def _placement(channel: str, name: str, raw: dict) -> Placement:
    formats = tuple(raw["formats"])
    image = (lambda key: int(raw[key])) if formats else (lambda key: int(raw.get(key, 0)))  # video-only: no image limits
    placement = Placement(
        channel=channel,
        name=name,
        formats=formats,
        min_aspect=raw.get("min_aspect"),
        max_aspect=raw.get("max_aspect"),
        min_width=image("min_width"),
        max_width=image("max_width"),
        max_bytes=image("max_bytes"),
        color_mode=raw.get("color_mode", "RGB"),
        max_items=int(raw["max_items"]),
        target_width=image("target_width"),
        recommended_aspect=raw.get("recommended_aspect"),
        max_gif_bytes=raw.get("max_gif_bytes"),
        video=_video_limits(raw.get("video")),
    )
    if not formats and placement.video is None:
        raise ValueError(f"placement {name!r} takes neither images (formats) nor video")
    return placement


def parse_profiles(raw: dict, source: str = "platforms.yaml") -> dict[str, ChannelProfile]:
    """Build channel profiles from the YAML mapping; raise naming the channel and field on a bad entry."""
    profiles: dict[str, ChannelProfile] = {}
    for channel, body in (raw or {}).get("channels", {}).items():
        try:
            placements = {name: _placement(channel, name, p) for name, p in body["placements"].items()}
            profile = ChannelProfile(
                id=channel,
                display_name=body["display_name"],
                caption=CaptionLimits(**body["caption"]),
                default_placement=body["default_placement"],
                placements=placements,
                caption_counting=body.get("caption_counting", "chars"),
                default_video_placement=body.get("default_video_placement"),
            )
            profile.default  # noqa: B018 - the default placement must exist
            profile.default_for(True)  # noqa: B018 - and so must the video one
        except (KeyError, TypeError, ValueError) as exc:
            raise HumasError(f"{source}: channel {channel!r} has a missing or bad field ({exc!r}); fix the profile") from exc
        if profile.caption_counting not in CAPTION_COUNTINGS:
            raise HumasError(f"{source}: channel {channel!r} caption_counting is {profile.caption_counting!r}; "
                             f"write one of {', '.join(CAPTION_COUNTINGS)} (or leave it out for chars)")
        profiles[channel] = profile
    if not profiles:
        raise HumasError(f"{source}: no channels defined under 'channels:'")
    return profiles


def load_profiles(path: Path | None = None) -> dict[str, ChannelProfile]:
    """All channel profiles, keyed by channel id (instagram, facebook, x); read again when the file changes."""
    return dict(cached(Path(path) if path else platforms_file(), _read_profiles))


def _read_profiles(path: Path) -> dict[str, ChannelProfile]:
    with open(path, encoding="utf-8") as fh:
        return parse_profiles(yaml.safe_load(fh), str(path))


def channel_ids() -> tuple[str, ...]:
    return tuple(load_profiles())
