"""The bucket contract: the only module that knows which key means what.

One bucket holds everything. Who writes where:

    inbox/<item>/brief.yaml                 staff      the brief (title, caption, channels, SOP, assets)
    inbox/<item>/<asset>                    staff      design assets; a corrected file is dropped here too
    claims/<item>/<login>.json              staff      "I submitted this": written with the person's own bucket
                                                       identity, which may write only claims named after it
    claims/<item>/deliveries/<stamp>/<login>.json  staff  "I delivered this" (``humas deliver``), the same way
    approvals/<item>/<gate>.json            approvers  a decision flag for one decision gate
    approvals/_board/items.json.gz          approvers  the approval service's item index, kept to start warm
    dispatch/requested/<item>.json          system     the dispatcher asked Airflow for the item's run
    dispatch/started/<item>.json            system     Airflow has the item's run (written by the dispatcher)
    dispatch/refused/<item>.json            system     the brief was refused (with the brief's ETag)
    dispatch/unusable/<hash>.json           system     an inbox folder whose name cannot be an item id, and why
    pipeline/<item>/status.json             system     the item's current state
    pipeline/<item>/events/<stamp>-<state>.json  system  every state change, append-only
    pipeline/<item>/refusal.json            system     why a brief was refused and how to fix it
    pipeline/<item>/findings.json|.md       system     asset-check findings
    pipeline/<item>/renditions/<channel>/<file>  system  per-platform renditions
    pipeline/<item>/renditions/<channel>/<video>.cover.jpg  system  a video rendition's cover frame
    pipeline/<item>/preview.jpg             system     the preview sheet approvers look at
    pipeline/<item>/review.json             system     what the gate now waiting shows its approver, and its digest
    pipeline/<item>/decisions/<stamp>-<gate>-<decision>.json  system  every decision taken, as signed
    pipeline/<item>/revision.json           system     the last "revise" decision: what the designer must change
    pipeline/<item>/work/<step>.json        system     a work step's wait for its person: asked what, since when
    pipeline/<item>/publish/<channel>.json  system     publish state of one channel (exactly-once record)
    pipeline/<item>/receipt.json            system     the SOP's output: the link of every post
    pipeline/<item>/report.json|.html       system     the item's report (SOP records), written when it ends
    reports/<sop>/<YYYY-MM>.html|.csv|.xlsx system     an agency's monthly compliance report
    pipeline/<item>/notices/<step>/<kind>/<round>/<person>/  system  a notification and its deliveries
    notices/<sop>/digest/<day>/<person>/    system     the daily digest of an agency to one person
    pipeline/_quota/<channel>.json          system     the channel's limit is used up until `until` (a note)
    pipeline/_quota/<channel>/<stamp>-<item>.json  system  the line of items waiting for the channel's quota
    pipeline/_outbox/<hash>.json            system     a notice that may still have a channel to send (its folder)
    progress/<login>/<item>/...             system     the submitter's read-only view of the item: status.json,
                                                       events/, and copies of findings.md, preview.jpg,
                                                       refusal.json, receipt.json, report.html (humas.progress);
                                                       the key names the login, so only that person may read it

No other module builds a key by string concatenation.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

from humas.exceptions import LayoutError

INBOX = "inbox/"
APPROVALS = "approvals/"
CLAIMS = "claims/"
DISPATCH = "dispatch/"
PIPELINE = "pipeline/"
PROGRESS = "progress/"
REPORTS = "reports/"
BRIEF_NAME = "brief.yaml"

ITEM_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
# Airflow 3.3.2's own rule for a run id given through its API ([scheduler] allowed_run_id_pattern, and no
# ".." anywhere: DagRun.validate_run_id). An item id must pass it too, as ``run_id_for`` makes it.
AIRFLOW_RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.~:+-]+$")
_ASSET_NAME_PATTERN = re.compile(r"^[^/\\\x00-\x1f]{1,200}$")
RUN_ID_PREFIX = "item__"
LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")  # a roster person's id (humas.roster.PERSON_ID)


def is_item_id(candidate: object) -> bool:
    """The one rule for item ids: a folder name that Airflow also takes as a run id (after ``item__``)."""
    return (isinstance(candidate, str) and ITEM_ID_PATTERN.fullmatch(candidate) is not None
            and ".." not in candidate and AIRFLOW_RUN_ID_PATTERN.fullmatch(RUN_ID_PREFIX + candidate) is not None)


def check_item_id(item_id: str) -> str:
    """Return ``item_id`` if it can name an item folder and an Airflow run id, else raise."""
    if not is_item_id(item_id):
        raise LayoutError(
            f"item id {item_id!r} is not allowed: use 1-80 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, never '..' (rename the folder, e.g. 2026-11-22-hut-kota)"
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


def claims_prefix(item_id: str) -> str:
    return f"{CLAIMS}{check_item_id(item_id)}/"


def check_login(login: str, what: str = "a claim") -> str:
    """Return ``login`` if it is a roster id that may name a key, else raise."""
    if not isinstance(login, str) or not LOGIN_PATTERN.fullmatch(login):
        raise LayoutError(f"login {login!r} cannot name {what}: use the roster id (lowercase, digits, '.', '_', '-')")
    return login


def claim_key(item_id: str, login: str) -> str:
    """Where ``login`` says it submitted the item; the bucket lets only ``login``'s own identity write it."""
    return f"{claims_prefix(item_id)}{check_login(login)}.json"


def login_from_claim_key(item_id: str, key: str) -> str | None:
    """``claims/<item>/<login>.json`` -> ``<login>``; None for anything else."""
    name = key[len(claims_prefix(item_id)):] if key.startswith(claims_prefix(item_id)) else ""
    login = name.removesuffix(".json")
    return login if name.endswith(".json") and LOGIN_PATTERN.fullmatch(login) else None


def delivery_claim_key(item_id: str, login: str, at: datetime) -> str:
    """Where ``login`` says it delivered work to the item at ``at``: like a claim, the key ends in the login, so
    only that person's identity may write it (the policy's ``claims/*/<login>.json``)."""
    stamp = at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return claim_key(item_id, login).replace(claims_prefix(item_id), f"{claims_prefix(item_id)}deliveries/{stamp}/", 1)


def login_from_delivery_claim_key(item_id: str, key: str) -> str | None:
    """``claims/<item>/deliveries/<stamp>/<login>.json`` -> ``<login>``; None for anything else."""
    prefix = f"{claims_prefix(item_id)}deliveries/"
    stamp, _, name = key[len(prefix):].partition("/") if key.startswith(prefix) else ("", "", "")
    login = name.removesuffix(".json")
    return login if stamp and name.endswith(".json") and LOGIN_PATTERN.fullmatch(login) else None


def approval_prefix(item_id: str) -> str:
    return f"{APPROVALS}{check_item_id(item_id)}/"


def approval_key(item_id: str, gate: str) -> str:
    return f"{approval_prefix(item_id)}{gate}.json"


DISPATCH_STAGES = ("requested", "started", "refused")


def dispatch_prefix(stage: str) -> str:
    if stage not in DISPATCH_STAGES:
        raise LayoutError(f"unknown dispatch stage {stage!r}")
    return f"{DISPATCH}{stage}/"


def unusable_folder_key(folder: str) -> str:
    """Where the dispatcher says why an inbox folder cannot be an item at all (its name is no item id).

    The name is hashed: it may hold anything a key may (spaces, any script, control characters).
    """
    digest = hashlib.sha256(folder.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{DISPATCH}unusable/{digest}.json"


def inbox_folder_prefix(folder: str) -> str:
    """``inbox/<folder>/`` for any folder name, an item id or not (where the dispatcher's sweep finds it)."""
    return f"{INBOX}{folder}/"


def folder_brief_key(folder: str) -> str:
    """``inbox/<folder>/brief.yaml`` for any folder name, an item id or not (only to find the brief's ETag)."""
    return inbox_folder_prefix(folder) + BRIEF_NAME


def inbox_folder_of(key: str) -> tuple[str, str] | None:
    """``inbox/<folder>/<name>`` -> (folder, name) for any folder name; None for keys outside a folder."""
    folder, sep, name = key[len(INBOX):].partition("/") if key.startswith(INBOX) else ("", "", "")
    return (folder, name) if sep and folder else None


def dispatch_key(stage: str, item_id: str) -> str:
    return f"{dispatch_prefix(stage)}{check_item_id(item_id)}.json"


def item_id_from_dispatch_key(stage: str, key: str) -> str | None:
    prefix = dispatch_prefix(stage)
    if not key.startswith(prefix) or not key.endswith(".json"):
        return None
    candidate = key[len(prefix):-len(".json")]
    return candidate if is_item_id(candidate) else None


def pipeline_prefix(item_id: str) -> str:
    return f"{PIPELINE}{check_item_id(item_id)}/"


def progress_prefix(login: str, item_id: str) -> str:
    """``progress/<login>/<item>/``: the item as its submitter may read it (the bucket lets only them)."""
    return f"{PROGRESS}{check_login(login, 'a progress view')}/{check_item_id(item_id)}/"


def progress_key(login: str, item_id: str, key: str) -> str:
    """The view's copy of the item's pipeline record ``key`` (``pipeline/<item>/<name>`` ->
    ``progress/<login>/<item>/<name>``)."""
    prefix = pipeline_prefix(item_id)
    if not key.startswith(prefix) or len(key) == len(prefix):
        raise LayoutError(f"item {item_id}: {key!r} is not one of the item's pipeline records")
    return progress_prefix(login, item_id) + key[len(prefix):]


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


def cover_key(item_id: str, channel: str, video_name: str) -> str:
    """The cover frame posted with a video rendition (Reels' cover, the approver's still)."""
    return rendition_key(item_id, channel, video_name) + ".cover.jpg"


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


def work_key(item_id: str, step: str) -> str:
    """The record of one work step's wait for its person (what was asked, since when, delivered when)."""
    return pipeline_prefix(item_id) + f"work/{step}.json"


def publish_key(item_id: str, channel: str) -> str:
    return pipeline_prefix(item_id) + f"publish/{channel}.json"


def receipt_key(item_id: str) -> str:
    return pipeline_prefix(item_id) + "receipt.json"


def report_key(item_id: str, ext: str = "json") -> str:
    """The item's own report (``json`` or ``html``), written when the item ends."""
    if ext not in ("json", "html"):
        raise LayoutError(f"item {item_id}: no item report of type {ext!r} (json or html)")
    return pipeline_prefix(item_id) + f"report.{ext}"


MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_month(month: str) -> str:
    """Return ``month`` if it is ``YYYY-MM``, else raise."""
    if not isinstance(month, str) or not MONTH_PATTERN.fullmatch(month):
        raise LayoutError(f"month {month!r} is not allowed: write it as YYYY-MM, e.g. 2026-11")
    return month


def monthly_report_key(sop_id: str, month: str, ext: str) -> str:
    """``reports/<sop>/<YYYY-MM>.<html|csv|xlsx|json>``: an agency's monthly compliance report."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,40}", sop_id or ""):
        raise LayoutError(f"report {sop_id!r}: give a SOP id, e.g. singkawang")
    check_month(month)
    if ext not in ("html", "csv", "xlsx", "json"):
        raise LayoutError(f"report {sop_id} {month}: no report of type {ext!r} (html, csv, xlsx or json)")
    return f"{REPORTS}{sop_id}/{month}.{ext}"


# The approval service's item index (``humas.board.ItemIndex``): a cache it may rebuild at any time, kept where
# its bucket identity may write; no item id starts with "_", so this never clashes with an item's flags.
ITEM_INDEX_KEY = APPROVALS + "_board/items.json.gz"

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
    return candidate if is_item_id(candidate) else None


def item_id_from_inbox_prefix(prefix: str) -> str | None:
    """``inbox/<item>/`` -> ``<item>``; None for anything else (stray files at the top level)."""
    if not prefix.startswith(INBOX) or not prefix.endswith("/"):
        return None
    candidate = prefix[len(INBOX):-1]
    return candidate if is_item_id(candidate) else None


def asset_name_from_key(item_id: str, key: str) -> str | None:
    """``inbox/<item>/<name>`` -> ``<name>`` for assets; None for the brief and nested keys."""
    prefix = item_prefix(item_id)
    if not key.startswith(prefix):
        return None
    name = key[len(prefix):]
    if not name or "/" in name or name == BRIEF_NAME:
        return None
    return name


# -- notifications (the outbox): one folder per (item, step, kind, round, person) ------------------------------
#    pipeline/<item>/notices/<step>/<kind>/<round>/<person>/notice.json     what to tell whom (created once)
#    pipeline/<item>/notices/<step>/<kind>/<round>/<person>/<channel>.json  its delivery on one channel
#    notices/<sop>/digest/<day>/<person>/notice.json (and /<channel>.json)   the daily digest of an agency
NOTICES = "notices/"
NOTICE_NAME = "notice.json"
_NOTICE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


def _notice_part(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NOTICE_PART.fullmatch(value):
        raise LayoutError(f"notice {what} {value!r} is not allowed: use 1-80 letters, digits, '.', '_' or '-'")
    return value


def notices_prefix(item_id: str) -> str:
    return pipeline_prefix(item_id) + NOTICES


def notice_folder(item_id: str, step: str, kind: str, round_: str, person: str) -> str:
    """The outbox folder of one notice to one person about one item."""
    parts = (_notice_part(step, "step"), _notice_part(kind, "kind"), _notice_part(round_, "round"),
             _notice_part(person, "person"))
    return notices_prefix(item_id) + "/".join(parts) + "/"


def notice_kind_prefix(item_id: str, step: str, kind: str) -> str:
    """Every notice of one kind about one step of an item (all rounds, all people)."""
    return notices_prefix(item_id) + f"{_notice_part(step, 'step')}/{_notice_part(kind, 'kind')}/"


def digest_folder(sop_id: str, day: str, person: str) -> str:
    """The outbox folder of one agency's daily digest (``day``: YYYY-MM-DD in WIB) to one person."""
    return f"{NOTICES}{_notice_part(sop_id, 'sop')}/digest/{_notice_part(day, 'day')}/{_notice_part(person, 'person')}/"


def notice_key(folder: str) -> str:
    return folder + NOTICE_NAME


def delivery_key(folder: str, channel: str) -> str:
    """A channel's claim (written before the send), and its failure when the send failed."""
    return folder + f"{_notice_part(channel, 'channel')}.json"


SENT_PREFIX = "sent."


def sent_key(folder: str, channels: list[str]) -> str:
    """The record that ``channels`` were sent, written once after one delivery sent them all (its name says which:
    a reader needs no GET). Each channel is claimed by one delivery only, so no two deliveries write one key."""
    return folder + SENT_PREFIX + ".".join(_notice_part(c, "channel") for c in channels) + ".json"


def sent_channels(name: str) -> list[str]:
    """The channels a ``sent_key``'s name (as ``notice_folder_of_key`` gives it) records; [] for another name."""
    return name[len(SENT_PREFIX):].split(".") if name.startswith(SENT_PREFIX) else []


_NOTICE_FOLDER = re.compile(r"^(pipeline/[A-Za-z0-9][A-Za-z0-9._-]{0,79}/notices(/[A-Za-z0-9][A-Za-z0-9._-]{0,79}){4}"
                            r"|notices/[A-Za-z0-9][A-Za-z0-9._-]{0,79}/digest(/[A-Za-z0-9][A-Za-z0-9._-]{0,79}){2})/$")
OUTBOX_PENDING = PIPELINE + "_outbox/"  # no item id starts with "_"


def is_notice_folder(folder: object) -> bool:
    """Whether ``folder`` is an outbox folder ``notice_folder`` or ``digest_folder`` could have made."""
    return isinstance(folder, str) and bool(_NOTICE_FOLDER.fullmatch(folder))


def outbox_pending_key(folder: str) -> str:
    """The marker of a notice that may still have a channel to send (written before the notice itself, so a
    crash at any point leaves it findable; removed once every channel is claimed)."""
    if not is_notice_folder(folder):
        raise LayoutError(f"{folder!r} is not a notice folder")
    return f"{OUTBOX_PENDING}{hashlib.sha256(folder.encode()).hexdigest()[:32]}.json"


def notice_folder_of_key(key: str) -> tuple[str, str] | None:
    """``<folder>/notice.json`` -> (folder, "notice"); ``<folder>/<channel>.json`` -> (folder, channel)."""
    folder, _, name = key.rpartition("/")
    if not name.endswith(".json") or not folder:
        return None
    return folder + "/", ("notice" if name == NOTICE_NAME else name[:-len(".json")])
