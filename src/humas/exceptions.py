"""Domain errors. Every message names the item or file, the field, the problem and the fix."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


class HumasError(Exception):
    """Base class of every error the pipeline raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where, what, and how to fix it."""

    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} (fix: {self.fix})"


class InvalidInputError(HumasError):
    """Input (a SOP file, a brief, a flag) that breaks its schema; carries every problem at once."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")


class SopError(InvalidInputError):
    """A SOP YAML file that cannot be loaded."""


class BriefError(InvalidInputError):
    """A content item's brief that breaks the brief schema."""


class ApprovalFlagError(InvalidInputError):
    """An approver's flag file that cannot be accepted."""


class RosterError(InvalidInputError):
    """An agency's roster file (who holds which SOP role) that cannot be loaded."""


class ApprovalRefused(HumasError):
    """The approval service will not sign this decision (wrong person, wrong gate, stale review)."""


class LayoutError(HumasError):
    """A bucket key or item id that does not fit the bucket contract."""


class PlatformError(HumasError):
    """A social media platform refused a request; `retryable` says whether a later try may succeed."""

    def __init__(self, channel: str, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        self.channel = channel
        self.status = status
        self.retryable = retryable
        super().__init__(f"{channel}: {message}")


class PublishUncertainError(HumasError):
    """A publish request whose outcome is unknown (timeout, dropped connection): check before re-sending."""


class ItemRefused(HumasError):
    """An item the pipeline cannot take (its brief broke after an edit): the run stops, the reasons are on its status."""


class StepFailed(HumasError):
    """A SOP step could not finish now (a platform refused, a record is missing); a retry may succeed."""


class QuotaExhausted(PlatformError):
    """A channel's publishing quota or rate limit is used up until ``until`` (aware UTC): wait, do not fail.

    ``shared`` is True when the limit holds for every post of the account until then (X's window, a Graph
    rate limit, a 429 with Retry-After); False when ``until`` was worked out for one place in the line of
    waiting items (Instagram's rolling 24-hour publishing limit).
    """

    def __init__(self, channel: str, message: str, *, until: "datetime", status: int | None = None,
                 shared: bool = True) -> None:
        super().__init__(channel, message, status=status, retryable=True)
        self.until = until
        self.shared = shared


class StillProcessing(HumasError):
    """The platform is still processing uploaded media (a video container, an upload, a media id): come back at
    ``check_at`` (aware UTC). What was done so far is already in the caller's ``Progress``; the next try resumes
    from there. Not a failure: nothing is wrong, and no worker needs to wait for it."""

    def __init__(self, channel: str, check_at: "datetime", what: str = "") -> None:
        self.channel = channel
        self.check_at = check_at
        detail = f"{what}: " if what else ""
        super().__init__(f"{channel}: {detail}the platform is still processing the media; checking again at "
                         f"{check_at:%Y-%m-%d %H:%M:%S} UTC (nothing to do)")
