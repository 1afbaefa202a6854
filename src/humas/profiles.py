"""Platform profiles (formats, sizes, aspect ratios, caption limits and how captions are counted) loaded from
include/platforms.yaml."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from twitter_text import parse_tweet

from humas.exceptions import HumasError
from humas.resources import cached, platforms_file

# How a channel counts a caption (`caption_counting` in platforms.yaml): code points, or X's weighted count.
CAPTION_COUNTINGS = ("chars", "weighted")


def x_weighted_length(text: str) -> int:
    """X's own count (twitter-text v3, the library X publishes, in its Python port): each URL 23, CJK and emoji
    2, an emoji sequence once, the rest 1. The platform sandbox counts with it too, as X does."""
    return parse_tweet(text).weightedLength


@dataclass(frozen=True)
class CaptionLimits:
    max_chars: int
    max_hashtags: int | None = None
    max_mentions: int | None = None


@dataclass(frozen=True)
class Placement:
    """What one placement (e.g. Instagram feed) accepts."""

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


@dataclass(frozen=True)
class ChannelProfile:
    id: str
    display_name: str
    caption: CaptionLimits
    default_placement: str
    placements: dict[str, Placement] = field(default_factory=dict)
    caption_counting: str = "chars"  # one of CAPTION_COUNTINGS

    @property
    def default(self) -> Placement:
        return self.placements[self.default_placement]

    def caption_length(self, text: str) -> int:
        """``text``'s length as this channel counts it against ``caption.max_chars``."""
        return x_weighted_length(text) if self.caption_counting == "weighted" else len(text)


def _placement(channel: str, name: str, raw: dict) -> Placement:
    return Placement(
        channel=channel,
        name=name,
        formats=tuple(raw["formats"]),
        min_aspect=raw.get("min_aspect"),
        max_aspect=raw.get("max_aspect"),
        min_width=int(raw["min_width"]),
        max_width=int(raw["max_width"]),
        max_bytes=int(raw["max_bytes"]),
        color_mode=raw.get("color_mode", "RGB"),
        max_items=int(raw["max_items"]),
        target_width=int(raw["target_width"]),
        recommended_aspect=raw.get("recommended_aspect"),
    )


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
            )
            profile.default  # noqa: B018 - the default placement must exist
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
