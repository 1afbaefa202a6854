"""Rosters: who holds which SOP role, one file per agency in ``include/rosters/<sop id>.yaml``.

A person's ``id`` is their Airflow login: the approval service knows who is deciding from Airflow's own
authentication, and the roster says which gates that person may decide. The brief's ``submitter`` is a
roster id too, so "cannot approve your own item" compares identities, never spellings of a name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import yaml

from humas.exceptions import Problem, RosterError
from humas.layout import LOGIN_PATTERN
from humas.resources import cached, include_dir
from humas.yamlio import load_strict

if TYPE_CHECKING:
    from humas.sop import Sop

PERSON_ID = LOGIN_PATTERN  # a login names bucket claims too: one rule, in humas.layout
# Contact fields a person may have (any may be absent): where their notifications go, one message per channel.
CONTACT_PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "email": (re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"), "e.g. email: ayu@singkawangkota.go.id"),
    "telegram": (re.compile(r"^-?[0-9]{3,20}$"), "the numeric chat id the bot sees, e.g. telegram: \"123456789\""),
    "whatsapp": (re.compile(r"^\+[1-9][0-9]{7,14}$"), "the number in international form, e.g. whatsapp: \"+6281234567890\""),
}
_PERSON_KEYS = ("id", "name", "roles", *CONTACT_PATTERNS)
_ROSTER_KEYS = ("people", "supervisors", "assumptions")


@dataclass(frozen=True)
class Person:
    id: str          # the Airflow login
    name: str
    roles: tuple[str, ...]
    contacts: Mapping[str, str] = field(default_factory=dict)  # channel (email | telegram | whatsapp) -> address


@dataclass(frozen=True)
class Roster:
    sop_id: str
    people: Mapping[str, Person]
    path: str
    supervisors: Mapping[str, str] = field(default_factory=dict)  # role -> the role told when it misses its time

    def person(self, person_id: str) -> Person | None:
        return self.people.get(person_id) if isinstance(person_id, str) else None

    def holders(self, role: str) -> list[Person]:
        """Everyone who may act in ``role``."""
        return [p for p in self.people.values() if role in p.roles]

    def supervisor_of(self, role: str) -> str | None:
        """The role that supervises ``role`` (told when it misses its standard time), if the roster names one."""
        return self.supervisors.get(role)


def roster_path(sop_id: str) -> Path:
    return include_dir() / "rosters" / f"{sop_id}.yaml"


def load_roster(sop: "Sop", path: Path | None = None) -> Roster:
    """The roster of ``sop``'s agency, validated against the SOP's roles; ``RosterError`` names every problem.

    Kept while the file and the SOP's roles are unchanged (``humas.resources.cached``): the dispatcher and
    every gate ask on each look.
    """
    return cached(path or roster_path(sop.id), lambda found: _read_roster(sop, found), variant=(sop.id, sop.roles))


def _read_roster(sop: "Sop", path: Path) -> Roster:
    source = f"roster SOP {sop.id} (rosters/{path.name})"  # no server path: approvers read it
    try:
        raw = load_strict(path.read_bytes())
    except OSError as exc:
        raise RosterError(source, [Problem("(file)", f"cannot be read ({exc.strerror})",
                                           f"create it: people: [{{id: login, name: ..., roles: [{sop.steps[0].actor}]}}]")]) from exc
    except yaml.YAMLError as exc:
        raise RosterError(source, [Problem("(file)", f"is not valid YAML ({str(exc)[:200]})", "fix the YAML syntax")]) from exc
    problems: list[Problem] = []
    people: dict[str, Person] = {}
    entries = raw.get("people") if isinstance(raw, Mapping) else None
    if not isinstance(entries, list) or not entries:
        problems.append(Problem("people", "must be a non-empty list", "list each person with id, name and roles"))
        entries = []
    role_ids = {r.id for r in sop.roles}
    if isinstance(raw, Mapping):
        problems.extend(_unknown_keys(raw, _ROSTER_KEYS, "(file)"))
    supervisors = _supervisors(raw.get("supervisors") if isinstance(raw, Mapping) else None, role_ids, problems)
    for index, entry in enumerate(entries):
        person = _person(entry, f"people[{index}]", role_ids, problems)
        if person and person.id in people:
            problems.append(Problem(f"people[{index}].id", f"{person.id!r} is listed twice", "list each person once"))
        elif person:
            people[person.id] = person
    if problems:
        raise RosterError(source, problems)
    return Roster(sop.id, people, str(path), supervisors)


def _unknown_keys(entry: Mapping[Any, Any], allowed: tuple[str, ...], where: str) -> list[Problem]:
    return [Problem(f"{where}.{key}" if where != "(file)" else str(key), "is not a known key",
                    f"use only: {', '.join(allowed)}") for key in entry if key not in allowed]


def _supervisors(raw: Any, role_ids: set[str], problems: list[Problem]) -> dict[str, str]:
    """``supervisors: {role: supervising role}``: optional; both must be roles of the SOP, never the same."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(Problem("supervisors", "must be a mapping of role -> supervising role",
                                "write e.g. supervisors: {pranata_humas: kabid_pip}"))
        return {}
    found: dict[str, str] = {}
    for role, boss in raw.items():
        if role not in role_ids or boss not in role_ids or role == boss:
            problems.append(Problem(f"supervisors.{role}", f"{role!r} -> {boss!r} is not a pair of two different "
                                    "role ids of this SOP", f"use some of: {', '.join(sorted(role_ids))}"))
        else:
            found[role] = boss
    return found


def _contacts(entry: Mapping[str, Any], where: str, problems: list[Problem]) -> dict[str, str]:
    """The person's contact fields that are present, each checked against its form."""
    found: dict[str, str] = {}
    for channel, (pattern, example) in CONTACT_PATTERNS.items():
        value = entry.get(channel)
        if value is None:
            continue
        text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        if not pattern.fullmatch(text):
            problems.append(Problem(f"{where}.{channel}", f"{str(value)[:60]!r} is not a valid {channel} contact",
                                    f"write {example}, or leave the field out"))
        else:
            found[channel] = text
    return found


def _person(entry: Any, where: str, role_ids: set[str], problems: list[Problem]) -> Person | None:
    if not isinstance(entry, Mapping):
        problems.append(Problem(where, "must be a mapping", "write {id: login, name: Full Name, roles: [role_id]}"))
        return None
    person_id, name, roles = entry.get("id"), entry.get("name"), entry.get("roles")
    before = len(problems)
    problems.extend(_unknown_keys(entry, _PERSON_KEYS, where))
    contacts = _contacts(entry, where, problems)
    if not isinstance(person_id, str) or not PERSON_ID.fullmatch(person_id):
        problems.append(Problem(f"{where}.id", "must be the person's Airflow login (lowercase letters, digits, . _ -)",
                                "write e.g. id: hendra.w"))
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(f"{where}.name", "is missing", "write the person's full name"))
    if not isinstance(roles, list) or not roles or any(r not in role_ids for r in roles if isinstance(r, str)) \
            or not all(isinstance(r, str) for r in roles):
        problems.append(Problem(f"{where}.roles", "must list role ids of this SOP",
                                f"use some of: {', '.join(sorted(role_ids))}"))
    if len(problems) > before:
        return None
    return Person(person_id, name.strip(), tuple(roles), contacts)


def submitter_problems(submitter: str, sop: "Sop") -> list[Problem]:
    """Why a brief's ``submitter`` is not a person of the SOP's roster (empty when it is)."""
    try:
        roster = load_roster(sop)
    except RosterError as exc:
        return [Problem("submitter", f"roster SOP {sop.id} tidak dapat dibaca ({exc.problems[0]})",
                        f"minta admin memperbaiki rosters/{sop.id}.yaml")]
    if roster.person(submitter) is None:
        return [Problem("submitter", f"{submitter[:60]!r} bukan login yang terdaftar di roster SOP {sop.id}",
                        f"tulis login Anda sendiri, salah satu dari: {', '.join(sorted(roster.people))}")]
    return []
