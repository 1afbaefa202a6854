"""The brief: what staff write in ``inbox/<item>/brief.yaml``, validated with every problem reported at once."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Collection, Mapping

import yaml

from humas.exceptions import BriefError, LayoutError, Problem
from humas.layout import check_asset_name, check_item_id
from humas.profiles import load_profiles
from humas.sla import WIB
from humas.yamlio import load_strict

FITS = ("pad", "crop")
_REQUIRED = ("title", "caption", "channels", "sop", "assets", "submitter")
_OPTIONAL = ("event_date", "publish_at", "placements", "fit", "notes")
MAX_TITLE = 200


@dataclass(frozen=True)
class Brief:
    item_id: str
    title: str
    caption: str
    channels: tuple[str, ...]
    sop: str
    assets: tuple[str, ...]
    submitter: str
    event_date: date | None = None
    publish_at: datetime | None = None
    placements: Mapping[str, str] | None = None
    fit: str = "pad"
    notes: str = ""
    digest: str = ""  # sha256 of the brief file: what the approvers' flags are bound to

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["event_date"] = self.event_date.isoformat() if self.event_date else None
        data["publish_at"] = self.publish_at.isoformat() if self.publish_at else None
        data["placements"] = dict(self.placements or {})
        return data


def _fix_example() -> str:
    return "see the brief template in include/sample/ or README 'Writing a brief'"


def _text(raw: Mapping, name: str, problems: list[Problem], max_len: int | None = None) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(name, "is missing or empty", f"write the {name} as text"))
        return ""
    if max_len and len(value) > max_len:
        problems.append(Problem(name, f"is {len(value)} characters, more than {max_len}", "shorten it"))
    return value.strip()


def _channels(raw: Mapping, known: Collection[str], problems: list[Problem]) -> tuple[str, ...]:
    value = raw.get("channels")
    if not isinstance(value, list) or not value:
        problems.append(Problem("channels", "must be a non-empty list", f"list one or more of: {', '.join(known)}"))
        return ()
    unknown = [c for c in value if c not in known]
    if unknown:
        problems.append(Problem("channels", f"unknown channel(s) {unknown}", f"use only: {', '.join(known)}"))
    if len(set(map(str, value))) != len(value):
        problems.append(Problem("channels", "lists a channel twice", "list each channel once"))
    return tuple(c for c in value if c in known)


def _assets(item_id: str, raw: Mapping, problems: list[Problem]) -> tuple[str, ...]:
    value = raw.get("assets")
    if not isinstance(value, list) or not value:
        problems.append(Problem("assets", "must be a non-empty list of file names",
                                "list the design files dropped beside the brief, e.g. [poster.jpg]"))
        return ()
    names: list[str] = []
    for index, name in enumerate(value):
        try:
            names.append(check_asset_name(item_id, str(name)))
        except LayoutError as exc:
            problems.append(Problem(f"assets[{index}]", str(exc), "use the plain file name, no folders"))
    if len(set(names)) != len(names):
        problems.append(Problem("assets", "lists a file twice", "list each file once"))
    return tuple(names)


def _sop(raw: Mapping, sops: Mapping[str, Any], problems: list[Problem]) -> str:
    value = raw.get("sop")
    if not isinstance(value, str) or value not in sops:
        problems.append(Problem("sop", f"{value!r} is not a known SOP", f"use one of: {', '.join(sorted(sops))}"))
        return ""
    return str(value)


def _submitter(raw: Mapping, problems: list[Problem]) -> str:
    value = raw.get("submitter")
    if isinstance(value, Mapping):
        value = value.get("name")
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem("submitter", "is missing", "write who submits the item, e.g. submitter: Ayu (Pranata Humas)"))
        return ""
    return value.strip()


def _event_date(raw: Mapping, problems: list[Problem]) -> date | None:
    value = raw.get("event_date")
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(Problem("event_date", f"{value!r} is not a date", "write it as YYYY-MM-DD, e.g. 2026-12-01"))
        return None


def _publish_at(raw: Mapping, problems: list[Problem]) -> datetime | None:
    value = raw.get("publish_at")
    if value is None:
        return None
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        problems.append(Problem("publish_at", f"{value!r} is not a date and time",
                                "write it as YYYY-MM-DDTHH:MM, e.g. 2026-12-01T09:00 (WIB unless an offset is given)"))
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=WIB)


def _placements(raw: Mapping, channels: tuple[str, ...], problems: list[Problem]) -> dict[str, str]:
    value = raw.get("placements") or {}
    if not isinstance(value, Mapping):
        problems.append(Problem("placements", "must map a channel to a placement", "e.g. placements: {instagram: story}"))
        return {}
    strays = [c for c in value if c not in channels]
    if strays:
        problems.append(Problem("placements", f"names channel(s) {strays} that are not in channels", "remove them or add the channel"))
    profiles = load_profiles()
    for channel, placement in value.items():
        known = profiles[channel].placements if channel in profiles else {}
        if channel in channels and placement not in known:
            problems.append(Problem(f"placements.{channel}", f"{placement!r} is not a {channel} placement",
                                    f"use one of: {', '.join(known)}"))
    return {str(k): str(v) for k, v in value.items()}


def _load_yaml(item_id: str, text: bytes | str) -> Mapping:
    try:
        raw = load_strict(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "the file"
        raise BriefError(f"item {item_id} brief.yaml", [Problem(where, f"is not valid YAML ({getattr(exc, 'problem', exc)})",
                                                               "fix the YAML syntax on that line (indentation, quotes, colons, real dates as YYYY-MM-DD)")]) from exc
    if not isinstance(raw, Mapping):
        raise BriefError(f"item {item_id} brief.yaml", [Problem("(top level)", "must be a mapping of fields", _fix_example())])
    return raw


def parse_brief(item_id: str, text: bytes | str, sops: Mapping[str, Any], channels: Collection[str]) -> Brief:
    """Validate a brief; raise ``BriefError`` listing every problem (field, what, fix) at once.

    ``sops`` maps SOP id to the SOP (its steps say whether an event date is needed); ``channels`` are the
    channel ids the deployment knows (from the platform profiles).
    """
    check_item_id(item_id)
    raw = _load_yaml(item_id, text)
    problems: list[Problem] = []
    unknown = sorted(set(map(str, raw)) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        problems.append(Problem(", ".join(unknown), "unknown field(s)", f"remove or rename; allowed: {', '.join(_REQUIRED + _OPTIONAL)}"))
    chosen = _channels(raw, channels, problems)
    brief = Brief(
        item_id=item_id,
        title=_text(raw, "title", problems, MAX_TITLE),
        caption=_text(raw, "caption", problems),
        channels=chosen,
        sop=_sop(raw, sops, problems),
        assets=_assets(item_id, raw, problems),
        submitter=_submitter(raw, problems),
        event_date=_event_date(raw, problems),
        publish_at=_publish_at(raw, problems),
        placements=_placements(raw, chosen, problems),
        fit=str(raw.get("fit", "pad")),
        notes=str(raw.get("notes") or ""),
        digest=hashlib.sha256(text if isinstance(text, bytes) else text.encode()).hexdigest(),
    )
    if brief.fit not in FITS:
        problems.append(Problem("fit", f"{brief.fit!r} is not a fit policy", "use pad (keep the whole design) or crop"))
    _check_event_date_needed(brief, sops, problems)
    if problems:
        raise BriefError(f"item {item_id} brief.yaml", problems)
    return brief


def _check_event_date_needed(brief: Brief, sops: Mapping[str, Any], problems: list[Problem]) -> None:
    sop = sops.get(brief.sop)
    steps = getattr(sop, "steps", ())
    if brief.event_date is None and any(s.time.kind == "before_event" for s in steps):
        problems.append(Problem("event_date", f"is required by SOP {brief.sop} (a step is due before the event)",
                                "add event_date: YYYY-MM-DD"))
