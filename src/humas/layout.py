"""The bucket contract: the only module that knows which key means what.

One bucket holds everything. Who writes where:

    inbox/<item>/brief.yaml                 staff      the brief (title, caption, channels, SOP, assets)
    inbox/<item>/<asset>                    staff      design assets; a corrected file is dropped here too
    approvals/<item>/<gate>.json            approvers  a decision flag for one decision gate
    dispatch/requested/<item>.json          system     the dispatcher asked Airflow for the item's run
    dispatch/started/<item>.json            system     Airflow has the item's run (written by the dispatcher)
    dispatch/refused/<item>.json            system     the brief was refused (with the brief's ETag)
    pipeline/<item>/status.json             system     the item's current state
    pipeline/<item>/events/<stamp>-<state>.json  system  every state change, append-only
    pipeline/<item>/refusal.json            system     why a brief was refused and how to fix it
    pipeline/<item>/findings.json|.md       system     asset-check findings
    pipeline/<item>/renditions/<channel>/<file>  system  per-platform renditions
    pipeline/<item>/preview.jpg             system     the preview sheet approvers look at
    pipeline/<item>/review.json             system     what the gate now waiting shows its approver, and its digest
    pipeline/<item>/decisions/<stamp>-<gate>-<decision>.json  system  every decision taken, as signed
    pipeline/<item>/revision.json           system     the last "revise" decision: what the designer must change
    pipeline/<item>/publish/<channel>.json  system     publish state of one channel (exactly-once record)
    pipeline/<item>/receipt.json            system     the SOP's output: the link of every post
    pipeline/_quota/<channel>.json          system     the channel's limit is used up until `until` (a note)
    pipeline/_quota/<channel>/<stamp>-<item>.json  system  the line of items waiting for the channel's quota

No other module builds a key by string concatenation.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from humas.exceptions import LayoutError

INBOX = "inbox/"
APPROVALS = "approvals/"
DISPATCH = "dispatch/"
PIPELINE = "pipeline/"
BRIEF_NAME = "brief.yaml"

ITEM_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_ASSET_NAME_PATTERN = re.compile(r"^[^/\\\x00-\x1f]{1,200}$")
RUN_ID_PREFIX = "item__"


def check_item_id(item_id: str) -> str:
    """Return ``item_id`` if it can name an item folder and an Airflow run id, else raise."""
    if not isinstance(item_id, str) or not ITEM_ID_PATTERN.fullmatch(item_id):
        raise LayoutError(
            f"item id {item_id!r} is not allowed: use 1-80 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (rename the folder, e.g. 2026-11-22-hut-kota)"
        )
    return item_id


def check_asset_name(item_id: str, name: str) -> str:
    """Return ``name`` if it is a plain file name inside the item folder, else raise."""
    if not isinstance(name, str) or not _ASSET_NAME_PATTERN.fullmatch(name) or name in (".", "..") or name == BRIEF_NAME:
        raise LayoutError(f"item {item_id}: asset name {name!r} is not a plain file name; rename the file")
    return name


def item_prefix(item_id: str) -> str:
    return f"{INBOX}{check_item_id(item_id)}/"


def brief_key(item_id: str) -> str:
    return item_prefix(item_id) + BRIEF_NAME


def asset_key(item_id: str, name: str) -> str:
    return item_prefix(item_id) + check_asset_name(item_id, name)


def approval_prefix(item_id: str) -> str:
    return f"{APPROVALS}{check_item_id(item_id)}/"


def approval_key(item_id: str, gate: str) -> str:
    return f"{approval_prefix(item_id)}{gate}.json"


DISPATCH_STAGES = ("requested", "started", "refused")


def dispatch_prefix(stage: str) -> str:
    if stage not in DISPATCH_STAGES:
        raise LayoutError(f"unknown dispatch stage {stage!r}")
    return f"{DISPATCH}{stage}/"


def dispatch_key(stage: str, item_id: str) -> str:
    return f"{dispatch_prefix(stage)}{check_item_id(item_id)}.json"


def item_id_from_dispatch_key(stage: str, key: str) -> str | None:
    prefix = dispatch_prefix(stage)
    if not key.startswith(prefix) or not key.endswith(".json"):
        return None
    candidate = key[len(prefix):-len(".json")]
    return candidate if ITEM_ID_PATTERN.fullmatch(candidate) else None


def pipeline_prefix(item_id: str) -> str:
    return f"{PIPELINE}{check_item_id(item_id)}/"


def status_key(item_id: str) -> str:
    return pipeline_prefix(item_id) + "status.json"


def events_prefix(item_id: str) -> str:
    return pipeline_prefix(item_id) + "events/"


def event_key(item_id: str, state: str, at: datetime) -> str:
    """Keys sort by time: microsecond UTC stamp first, then the state."""
    stamp = at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{events_prefix(item_id)}{stamp}-{state}.json"


def refusal_key(item_id: str) -> str:
    return pipeline_prefix(item_id) + "refusal.json"


def findings_key(item_id: str, ext: str = "json") -> str:
    return pipeline_prefix(item_id) + f"findings.{ext}"


def rendition_prefix(item_id: str, channel: str) -> str:
    return pipeline_prefix(item_id) + f"renditions/{channel}/"


def rendition_key(item_id: str, channel: str, name: str) -> str:
    return rendition_prefix(item_id, channel) + check_asset_name(item_id, name)


def preview_key(item_id: str) -> str:
    return pipeline_prefix(item_id) + "preview.jpg"


def review_key(item_id: str) -> str:
    return pipeline_prefix(item_id) + "review.json"


def decisions_prefix(item_id: str) -> str:
    return pipeline_prefix(item_id) + "decisions/"


def decision_key(item_id: str, gate: str, decision: str, at: datetime) -> str:
    stamp = at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{decisions_prefix(item_id)}{stamp}-{gate}-{decision}.json"


def gate_of_decision_key(item_id: str, key: str) -> str | None:
    """``.../decisions/<stamp>-<gate>-<decision>.json`` -> ``<gate>``; None for anything else."""
    name = key[len(decisions_prefix(item_id)):] if key.startswith(decisions_prefix(item_id)) else ""
    parts = name.removesuffix(".json").split("-")
    return "-".join(parts[1:-1]) if name.endswith(".json") and len(parts) >= 3 else None


def revision_key(item_id: str) -> str:
    return pipeline_prefix(item_id) + "revision.json"


def publish_key(item_id: str, channel: str) -> str:
    return pipeline_prefix(item_id) + f"publish/{channel}.json"


def receipt_key(item_id: str) -> str:
    return pipeline_prefix(item_id) + "receipt.json"


QUOTA = PIPELINE + "_quota/"   # no item id starts with "_", so this never clashes with an item's folder


def quota_note_key(channel: str) -> str:
    """The note that ``channel``'s publishing limit is used up for every item until a moment."""
    return f"{QUOTA}{_channel(channel)}.json"


def quota_line_prefix(channel: str) -> str:
    """The line of items waiting for ``channel``'s quota; keys sort by when each began to wait."""
    return f"{QUOTA}{_channel(channel)}/"


def quota_line_key(channel: str, item_id: str, at: datetime) -> str:
    stamp = at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{quota_line_prefix(channel)}{stamp}-{check_item_id(item_id)}.json"


def item_id_from_quota_line_key(channel: str, key: str) -> str | None:
    """``pipeline/_quota/<channel>/<stamp>-<item>.json`` -> ``<item>``; None for anything else."""
    prefix = quota_line_prefix(channel)
    name = key[len(prefix):-len(".json")] if key.startswith(prefix) and key.endswith(".json") else ""
    candidate = name.partition("-")[2]
    return candidate if ITEM_ID_PATTERN.fullmatch(candidate) else None


def _channel(channel: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", channel or ""):
        raise LayoutError(f"channel {channel!r} is not a channel id (lower-case letters, e.g. instagram)")
    return channel


def run_id_for(item_id: str) -> str:
    """The one Airflow run id an item can ever have: dropping it again cannot start a second run."""
    return RUN_ID_PREFIX + check_item_id(item_id)


def item_id_from_run_id(run_id: str) -> str | None:
    candidate = run_id[len(RUN_ID_PREFIX):] if run_id.startswith(RUN_ID_PREFIX) else ""
    return candidate if ITEM_ID_PATTERN.fullmatch(candidate) else None


def item_id_from_inbox_prefix(prefix: str) -> str | None:
    """``inbox/<item>/`` -> ``<item>``; None for anything else (stray files at the top level)."""
    if not prefix.startswith(INBOX) or not prefix.endswith("/"):
        return None
    candidate = prefix[len(INBOX):-1]
    return candidate if ITEM_ID_PATTERN.fullmatch(candidate) else None


def asset_name_from_key(item_id: str, key: str) -> str | None:
    """``inbox/<item>/<name>`` -> ``<name>`` for assets; None for the brief and nested keys."""
    prefix = item_prefix(item_id)
    if not key.startswith(prefix):
        return None
    name = key[len(prefix):]
    if not name or "/" in name or name == BRIEF_NAME:
        return None
    return name
