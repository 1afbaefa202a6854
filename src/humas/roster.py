"""Rosters: who holds which SOP role, one file per agency in ``include/rosters/<sop id>.yaml``.

A person's ``id`` is their Airflow login: the approval service knows who is deciding from Airflow's own
authentication, and the roster says which gates that person may decide. The brief's ``submitter`` is a
roster id too, so "cannot approve your own item" compares identities, never spellings of a name.
"""
from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Person:
    id: str          # the Airflow login
    name: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Roster:
    sop_id: str
    people: Mapping[str, Person]
    path: str

    def person(self, person_id: str) -> Person | None:
        return self.people.get(person_id) if isinstance(person_id, str) else None

    def holders(self, role: str) -> list[Person]:
        """Everyone who may act in ``role``."""
        return [p for p in self.people.values() if role in p.roles]


def roster_path(sop_id: str) -> Path:
    return include_dir() / "rosters" / f"{sop_id}.yaml"


def load_roster(sop: "Sop", path: Path | None = None) -> Roster:
    """The roster of ``sop``'s agency, validated against the SOP's roles; ``RosterError`` names every problem.

    Kept while the file and the SOP's roles are unchanged (``humas.resources.cached``): the dispatcher and
    every gate ask on each look.
    """
    return cached(path or roster_path(sop.id), lambda found: _read_roster(sop, found), variant=(sop.id, sop.roles))


def _read_roster(sop: "Sop", path: Path) -> Roster:
    source = str(path)
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
    for index, entry in enumerate(entries):
        person = _person(entry, f"people[{index}]", role_ids, problems)
        if person and person.id in people:
            problems.append(Problem(f"people[{index}].id", f"{person.id!r} is listed twice", "list each person once"))
        elif person:
            people[person.id] = person
    if problems:
        raise RosterError(source, problems)
    return Roster(sop.id, people, source)


def _person(entry: Any, where: str, role_ids: set[str], problems: list[Problem]) -> Person | None:
    if not isinstance(entry, Mapping):
        problems.append(Problem(where, "must be a mapping", "write {id: login, name: Full Name, roles: [role_id]}"))
        return None
    person_id, name, roles = entry.get("id"), entry.get("name"), entry.get("roles")
    before = len(problems)
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
    return Person(person_id, name.strip(), tuple(roles))


def submitter_problems(submitter: str, sop: "Sop") -> list[Problem]:
    """Why a brief's ``submitter`` is not a person of the SOP's roster (empty when it is)."""
    try:
        roster = load_roster(sop)
    except RosterError as exc:
        return [Problem("submitter", f"roster SOP {sop.id} tidak dapat dibaca ({exc.problems[0]})",
                        f"minta admin memperbaiki {roster_path(sop.id)}")]
    if roster.person(submitter) is None:
        return [Problem("submitter", f"{submitter[:60]!r} bukan login yang terdaftar di roster SOP {sop.id}",
                        f"tulis login Anda sendiri, salah satu dari: {', '.join(sorted(roster.people))}")]
    return []
