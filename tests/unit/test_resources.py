"""The one cached reader of include/ files (humas.resources.cached), and the SOP, roster and profile loaders
that use it: an edited file is seen on the next call without a restart; an unchanged one is not parsed again."""
from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from humas import profiles as profiles_module
from humas import resources
from humas import roster as roster_module
from humas.exceptions import RosterError
from humas.profiles import load_profiles
from humas.resources import cached, include_dir, platforms_file
from humas.roster import load_roster
from humas.sop import Sop


def _touch_later(path: Path) -> None:
    """Move the file's mtime on, as a save a moment later would (some file systems count whole seconds)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def _edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    _touch_later(path)


@pytest.fixture()
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every platforms.yaml and roster file actually parsed (what the cache saves)."""
    calls: list[str] = []
    for module, name in ((profiles_module, "parse_profiles"), (roster_module, "load_strict")):
        real = getattr(module, name)

        def counting(*args, _real=real, **kwargs):
            calls.append(_real.__name__)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    return calls


# ------------------------------------------------------------------------------------------ cached itself


def _reader(calls: list[Path]):
    def parse(path: Path) -> str:
        calls.append(path)
        return path.read_text(encoding="utf-8")
    return parse


def test_an_unchanged_file_is_parsed_once_and_an_edited_one_again(tmp_path: Path) -> None:
    path, calls = tmp_path / "a.txt", []
    path.write_text("satu", encoding="utf-8")
    parse = _reader(calls)
    assert [cached(path, parse) for _ in range(3)] == ["satu"] * 3
    assert calls == [path]
    path.write_text("dua!", encoding="utf-8")  # same size: the mtime (or inode) tells
    _touch_later(path)
    assert cached(path, parse) == "dua!"
    assert len(calls) == 2


def test_a_file_replaced_by_rename_is_read_again(tmp_path: Path) -> None:
    path, calls = tmp_path / "a.txt", []
    path.write_text("satu", encoding="utf-8")
    assert cached(path, _reader(calls)) == "satu"
    fresh = tmp_path / "b.txt"
    fresh.write_text("dua", encoding="utf-8")
    fresh.replace(path)
    assert cached(path, _reader(calls)) == "dua"


def test_a_missing_file_is_never_kept(tmp_path: Path) -> None:
    def parse(path: Path) -> str:
        raise FileNotFoundError(path)
    for _ in range(2):
        with pytest.raises(FileNotFoundError):
            cached(tmp_path / "none.txt", parse)


def test_a_folder_is_read_again_when_a_listed_file_is_added_changed_or_removed(tmp_path: Path) -> None:
    calls: list[Path] = []

    def parse(folder: Path) -> list[str]:
        calls.append(folder)
        return sorted(p.read_text(encoding="utf-8") for p in folder.glob("*.txt"))

    def listed(folder: Path) -> list[Path]:
        return sorted(folder.glob("*.txt"))

    (tmp_path / "a.txt").write_text("a", encoding="utf-8")
    assert cached(tmp_path, parse, files=listed) == cached(tmp_path, parse, files=listed) == ["a"]
    (tmp_path / "b.txt").write_text("b", encoding="utf-8")
    assert cached(tmp_path, parse, files=listed) == ["a", "b"]
    _edit(tmp_path / "a.txt", "a", "A")
    assert cached(tmp_path, parse, files=listed) == ["A", "b"]
    (tmp_path / "b.txt").unlink()
    assert cached(tmp_path, parse, files=listed) == ["A"]
    (tmp_path / "notes.md").write_text("not listed", encoding="utf-8")
    assert cached(tmp_path, parse, files=listed) == ["A"]
    assert len(calls) == 4


def test_variants_of_one_file_are_kept_apart(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("satu", encoding="utf-8")
    assert cached(path, lambda p: p.read_text(encoding="utf-8").upper(), variant="upper") == "SATU"
    assert cached(path, lambda p: p.read_text(encoding="utf-8"), variant="plain") == "satu"
    assert cached(path, lambda p: "not asked", variant="upper") == "SATU"


def test_the_cache_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "_MAX_ENTRIES", 3)
    monkeypatch.setattr(resources, "_CACHE", type(resources._CACHE)())
    paths = [tmp_path / f"{n}.txt" for n in range(5)]
    for path in paths:
        path.write_text(path.stem, encoding="utf-8")
        cached(path, _reader([]))
    assert [key[0] for key in resources._CACHE] == paths[2:]


# ------------------------------------------------------------------------------------------ platforms.yaml


def test_an_edited_platforms_file_is_seen_on_the_next_call(tmp_path: Path, parses: list[str]) -> None:
    path = tmp_path / "platforms.yaml"
    shutil.copy(platforms_file(), path)
    assert load_profiles(path)["x"].caption.max_chars == 280
    assert load_profiles(path)["x"].caption.max_chars == 280
    assert parses == ["parse_profiles"]
    _edit(path, "max_chars: 280", "max_chars: 250")
    assert load_profiles(path)["x"].caption.max_chars == 250
    assert parses == ["parse_profiles"] * 2


def test_callers_cannot_change_the_cached_profiles(tmp_path: Path) -> None:
    path = tmp_path / "platforms.yaml"
    shutil.copy(platforms_file(), path)
    load_profiles(path).clear()
    assert "x" in load_profiles(path)


# ------------------------------------------------------------------------------------------ rosters


@pytest.fixture()
def roster_file(tmp_path: Path) -> Path:
    path = tmp_path / "singkawang.yaml"
    shutil.copy(include_dir() / "rosters" / "singkawang.yaml", path)
    return path


def test_an_edited_roster_is_seen_on_the_next_call(sops: dict[str, Sop], roster_file: Path,
                                                  parses: list[str]) -> None:
    sop = sops["singkawang"]
    assert load_roster(sop, roster_file).person("skw.hendra").name == "Hendra Wijaya"
    assert load_roster(sop, roster_file) is load_roster(sop, roster_file)
    assert parses == ["load_strict"]
    _edit(roster_file, "Hendra Wijaya", "Hendra W.")
    assert load_roster(sop, roster_file).person("skw.hendra").name == "Hendra W."
    assert parses == ["load_strict"] * 2


def test_a_roster_is_checked_again_when_its_sops_roles_change(sops: dict[str, Sop], roster_file: Path) -> None:
    sop = sops["singkawang"]
    assert load_roster(sop, roster_file).holders("kepala_bidang")
    renamed = replace(sop, roles=tuple(replace(r, id="kabid") if r.id == "kepala_bidang" else r for r in sop.roles))
    with pytest.raises(RosterError, match="roles"):
        load_roster(renamed, roster_file)


def test_a_broken_roster_is_reported_until_it_is_fixed(sops: dict[str, Sop], roster_file: Path) -> None:
    sop = sops["singkawang"]
    good = roster_file.read_text(encoding="utf-8")
    roster_file.write_text("people: [", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(RosterError, match="not valid YAML"):
            load_roster(sop, roster_file)
    roster_file.write_text(good, encoding="utf-8")
    _touch_later(roster_file)
    assert load_roster(sop, roster_file).person("skw.ayu")
