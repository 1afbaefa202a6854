"""The brief's caption against each channel's limits: length, hashtags, mentions.

Counting is deliberately never below what the platform sandbox counts: characters are code points;
on channels with `caption_counting: weighted` (X) each http(s) link counts 23 and every code point
outside X's light ranges (CJK, emoji) counts 2; hashtags are `#word`, mentions `@name` (an e-mail
address counts as a mention too, as the Instagram sandbox counts it).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from humas.assets.codes import Text, finding
from humas.assets.model import Finding
from humas.exceptions import HumasError
from humas.profiles import ChannelProfile, load_profiles
from humas.resources import platforms_file

HASHTAG = re.compile(r"#\w+")
MENTION = re.compile(r"@[\w.]+")
LINK = re.compile(r"https?://\S+")
LINK_WEIGHT = 23
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))  # twitter-text v3: these weigh 1
_WEIGHTED_NOTE = Text(" (tautan dihitung 23, emoji dan aksara CJK dihitung 2)", " (links count 23, emoji and CJK 2)")


@lru_cache(maxsize=4)
def _counting_modes(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    return {cid: str((body or {}).get("caption_counting", "chars")) for cid, body in raw.get("channels", {}).items()}


def counting_for(channel: str) -> str:
    """'weighted' (X's rules) or 'chars', from the channel's `caption_counting` in platforms.yaml."""
    return _counting_modes(platforms_file()).get(channel, "chars")


def _weight(char: str) -> int:
    code = ord(char)
    return 1 if any(low <= code <= high for low, high in _LIGHT_RANGES) else 2


def weighted_length(text: str) -> int:
    """X's count: each http(s) link 23, CJK/emoji code points 2, the rest 1."""
    total, position = 0, 0
    for link in LINK.finditer(text):
        total += sum(map(_weight, text[position:link.start()])) + LINK_WEIGHT
        position = link.end()
    return total + sum(map(_weight, text[position:]))


def caption_length(caption: str, channel: str) -> int:
    return weighted_length(caption) if counting_for(channel) == "weighted" else len(caption)


def _length_finding(caption: str, channel: str, profile: ChannelProfile) -> Finding | None:
    length, limit = caption_length(caption, channel), profile.caption.max_chars
    if length <= limit:
        return None
    note = _WEIGHTED_NOTE if counting_for(channel) == "weighted" else ""
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
