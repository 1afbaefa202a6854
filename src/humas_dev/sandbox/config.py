"""The sandbox's accounts, settings and shared context."""
from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from humas.profiles import ChannelProfile, load_profiles
from humas_dev.sandbox.state import State

if TYPE_CHECKING:
    from humas_dev.sandbox.messages import ChatLimit, MessageLog

# The accounts the sandbox knows; any other id gets the platform's "does not exist" answer.
INSTAGRAM_USER_ID = "17841400000000001"
INSTAGRAM_USERNAME = "humas_sandbox"
FACEBOOK_PAGE_ID = "100000000000001"
FACEBOOK_PAGE_NAME = "Humas Sandbox"
X_USER_ID = "1500000000000000001"
X_USERNAME = "HumasSandbox"

# Instagram's rolling publishing limit. Meta's reference (content_publishing_limit and media_publish,
# checked 2026) says "currently 50" posts per 86400 s; older docs and many blogs still say 25 or 100.
INSTAGRAM_QUOTA_TOTAL = 50
INSTAGRAM_QUOTA_DURATION = 86400
# X's limit on POST /2/tweets per user: "200 requests per 15 min per user" (docs.x.com, manage Posts, checked 2026).
X_POST_LIMIT = 200
X_POST_WINDOW = 900

TOKEN_ENV = "HUMAS_SANDBOX_TOKEN"


@dataclass(frozen=True)
class SandboxConfig:
    """How one sandbox behaves; `from_env()` reads the HUMAS_SANDBOX_* variables."""

    token: str
    state_file: Path | None = None
    in_progress_polls: int = 1           # Instagram containers answer IN_PROGRESS this many times first
    # Realistic timing (benchmarks): every platform call takes `latency` seconds (uniform between the two), and an
    # Instagram container is IN_PROGRESS for `processing` seconds after it is made. None: answer at once.
    latency: tuple[float, float] | None = None
    processing: tuple[float, float] | None = None
    instagram_quota_total: int = INSTAGRAM_QUOTA_TOTAL
    instagram_quota_duration: int = INSTAGRAM_QUOTA_DURATION   # seconds; shorter only to test a window rolling on
    x_post_limit: int = X_POST_LIMIT     # POST /2/tweets requests per window
    x_post_window: int = X_POST_WINDOW   # seconds
    # Video: seconds an uploaded video is processed (Instagram container IN_PROGRESS, Facebook video "processing",
    # X processing_info pending/in_progress) before it is FINISHED or fails with the platform's error; and the
    # chunk size the sandbox asks for in a Facebook resumable upload (the platform picks end_offset).
    video_processing: float = 2.0
    fb_chunk_bytes: int = 1048576
    # Telegram and WhatsApp refuse a chat more than `chat_limit[0]` messages in `chat_limit[1]` seconds, as the
    # real ones do (Telegram about one a second per chat, WhatsApp's pair rate about one every six seconds).
    # None: no limit (the embedded stack's default: the tests and the benchmarks count messages, not refusals).
    chat_limit: tuple[int, float] | None = None

    @classmethod
    def from_env(cls, state_file: Path | None = None) -> SandboxConfig:
        """Settings from the environment; raise SystemExit naming the variable when the token is missing."""
        token = os.environ.get(TOKEN_ENV, "")
        if not token:
            raise SystemExit(f"{TOKEN_ENV} is not set: export the access token the sandbox should accept")
        env_state = os.environ.get("HUMAS_SANDBOX_STATE_FILE")
        return cls(
            token=token,
            state_file=state_file or (Path(env_state) if env_state else None),
            in_progress_polls=int(os.environ.get("HUMAS_SANDBOX_IN_PROGRESS_POLLS", "1")),
            latency=_seconds_range(os.environ.get("HUMAS_SANDBOX_LATENCY")),
            processing=_seconds_range(os.environ.get("HUMAS_SANDBOX_PROCESSING")),
            instagram_quota_total=int(os.environ.get("HUMAS_SANDBOX_IG_QUOTA", str(INSTAGRAM_QUOTA_TOTAL))),
            instagram_quota_duration=int(os.environ.get("HUMAS_SANDBOX_IG_QUOTA_WINDOW",
                                                        str(INSTAGRAM_QUOTA_DURATION))),
            x_post_limit=int(os.environ.get("HUMAS_SANDBOX_X_POST_LIMIT", str(X_POST_LIMIT))),
            x_post_window=int(os.environ.get("HUMAS_SANDBOX_X_POST_WINDOW", str(X_POST_WINDOW))),
            video_processing=float(os.environ.get("HUMAS_SANDBOX_VIDEO_PROCESSING", "2")),
            chat_limit=_chat_limit(os.environ.get("HUMAS_SANDBOX_CHAT_LIMIT")),
        )


def _seconds_range(raw: str | None) -> tuple[float, float] | None:
    """'1,3' -> (1.0, 3.0); empty -> None. SystemExit naming the variable's format otherwise."""
    if not raw:
        return None
    try:
        low, high = (float(part) for part in raw.split(","))
    except ValueError:
        raise SystemExit(f"a time range is 'low,high' in seconds (e.g. 1,3), got {raw!r}") from None
    return (min(low, high), max(low, high))


def _chat_limit(raw: str | None) -> tuple[int, float] | None:
    """'1/6' (messages/seconds) -> (1, 6.0); empty -> None. SystemExit naming the format otherwise."""
    if not raw:
        return None
    try:
        count, seconds = raw.split("/")
        return int(count), float(seconds)
    except ValueError:
        raise SystemExit(f"HUMAS_SANDBOX_CHAT_LIMIT is 'messages/seconds' (e.g. 1/6), got {raw!r}") from None


@dataclass
class Sandbox:
    """What every route sees: the settings, the state and the platform profiles (limits)."""

    config: SandboxConfig
    state: State = field(init=False)
    profiles: dict[str, ChannelProfile] = field(init=False)
    messages: "MessageLog" = field(init=False)  # notifications received (humas_dev.sandbox.messages)
    chat_limit: "ChatLimit" = field(init=False)  # what each chat received lately (``SandboxConfig.chat_limit``)
    x_post_calls: deque[float] = field(init=False, default_factory=deque)   # POST /2/tweets in X's window

    def __post_init__(self) -> None:
        from humas_dev.sandbox.messages import ChatLimit, MessageLog, journal_for

        self.state = State(self.config.state_file)
        self.messages = MessageLog(journal_for(self.config.state_file))
        self.chat_limit = ChatLimit()
        self.profiles = load_profiles()
