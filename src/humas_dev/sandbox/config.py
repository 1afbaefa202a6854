"""The sandbox's accounts, settings and shared context."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from humas.profiles import ChannelProfile, load_profiles
from humas_dev.sandbox.state import State

if TYPE_CHECKING:
    from humas_dev.sandbox.messages import MessageLog

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

TOKEN_ENV = "HUMAS_SANDBOX_TOKEN"


@dataclass(frozen=True)
class SandboxConfig:
    """How one sandbox behaves; `from_env()` reads the HUMAS_SANDBOX_* variables."""

    token: str
    state_file: Path | None = None
    in_progress_polls: int = 1           # Instagram containers answer IN_PROGRESS this many times first
    instagram_quota_total: int = INSTAGRAM_QUOTA_TOTAL

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
            instagram_quota_total=int(os.environ.get("HUMAS_SANDBOX_IG_QUOTA", str(INSTAGRAM_QUOTA_TOTAL))),
        )


@dataclass
class Sandbox:
    """What every route sees: the settings, the state and the platform profiles (limits)."""

    config: SandboxConfig
    state: State = field(init=False)
    profiles: dict[str, ChannelProfile] = field(init=False)
    messages: "MessageLog" = field(init=False)  # notifications received (humas_dev.sandbox.messages)

    def __post_init__(self) -> None:
        from humas_dev.sandbox.messages import MessageLog, journal_for

        self.state = State(self.config.state_file)
        self.messages = MessageLog(journal_for(self.config.state_file))
        self.profiles = load_profiles()
