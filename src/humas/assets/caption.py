"""The brief's caption against each channel's limits: length, hashtags, mentions.

Counting is deliberately never below what the platform sandbox counts: the length is what the channel's
profile counts (`ChannelProfile.caption_length`: code points, or X's weighted count on channels with
`caption_counting: weighted`); hashtags are `#word`, mentions `@name` (an e-mail address counts as a mention
too, as the Instagram sandbox counts it).
"""
from __future__ import annotations

import re

from humas.assets.codes import Text, finding
from humas.assets.model import Finding
from humas.exceptions import HumasError
from humas.profiles import ChannelProfile, load_profiles

HASHTAG = re.compile(r"#\w+")
MENTION = re.compile(r"@[\w.]+")
_WEIGHTED_NOTE = Text(" (tautan dihitung 23, emoji dan aksara CJK dihitung 2)", " (links count 23, emoji and CJK 2)")


def _length_finding(caption: str, channel: str, profile: ChannelProfile) -> Finding | None:
    length, limit = profile.caption_length(caption), profile.caption.max_chars
    if length <= limit:
        return None
    note = _WEIGHTED_NOTE if profile.caption_counting == "weighted" else ""
    return finding("CAPTION_TOO_LONG", channel=channel, channel_name=profile.display_name, length=length,
                   counting=note, limit=limit, over=length - limit)


def _count_finding(code: str, pattern: re.Pattern, caption: str, channel: str, limit: int | None,
                   profile: ChannelProfile) -> Finding | None:
    count = len(pattern.findall(caption))
    if limit is None or count <= limit:
        return None
    return finding(code, channel=channel, channel_name=profile.display_name, count=count, limit=limit,
                   over=count - limit)


def check_caption(caption: str, channels: list[str], *, profiles: dict[str, ChannelProfile] | None = None
                  ) -> list[Finding]:
    """Findings for `caption` on each channel: CAPTION_TOO_LONG, _TOO_MANY_HASHTAGS, _TOO_MANY_MENTIONS, _EMPTY."""
    profiles = profiles or load_profiles()
    if not caption.strip():
        return [finding("CAPTION_EMPTY")]
    found: list[Finding | None] = []
    for channel in channels:
        profile = profiles.get(channel)
        if profile is None:
            raise HumasError(f"channel {channel!r} has no profile in platforms.yaml; use one of {sorted(profiles)}")
        limits = profile.caption
        found.append(_length_finding(caption, channel, profile))
        found.append(_count_finding("CAPTION_TOO_MANY_HASHTAGS", HASHTAG, caption, channel, limits.max_hashtags, profile))
        found.append(_count_finding("CAPTION_TOO_MANY_MENTIONS", MENTION, caption, channel, limits.max_mentions, profile))
    return [f for f in found if f is not None]
