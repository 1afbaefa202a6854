"""available_sops(_report) keeps what it loaded and re-reads a folder only when one of its SOP files changes."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from humas import sop as sop_module
from humas.resources import sops_dir
from humas.sop import available_sops, available_sops_report


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    for name in ("singkawang.yaml", "kendal.yaml"):
        shutil.copy(sops_dir() / name, tmp_path / name)
    return tmp_path


@pytest.fixture()
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every folder load_sops_report is asked to read (the expensive part the cache saves)."""
    calls: list[Path] = []
    real = sop_module.load_sops_report

    def counting(directory=None):
        calls.append(Path(directory))
        return real(directory)

    monkeypatch.setattr(sop_module, "load_sops_report", counting)
    return calls


def _touch_later(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def test_unchanged_folder_is_read_once(folder: Path, loads: list[Path]) -> None:
    first = available_sops(folder)
    for _ in range(5):
        assert available_sops(folder) == first
    assert sorted(first) == ["kendal", "singkawang"]
    assert len(loads) == 1


def test_callers_cannot_change_the_cached_result(folder: Path, loads: list[Path]) -> None:
    available_sops(folder).clear()
    assert sorted(available_sops(folder)) == ["kendal", "singkawang"]


def test_changed_mtime_reloads(folder: Path, loads: list[Path]) -> None:
    path = folder / "kendal.yaml"
    assert available_sops(folder)["kendal"].title != "Judul baru"
    text = path.read_text(encoding="utf-8")
    old_title = available_sops(folder)["kendal"].title
    path.write_text(text.replace(old_title, "Judul baru", 1), encoding="utf-8")
    _touch_later(path)
    assert available_sops(folder)["kendal"].title == "Judul baru"
    assert len(loads) == 2


def test_touch_alone_reloads(folder: Path, loads: list[Path]) -> None:
    available_sops(folder)
    _touch_later(folder / "singkawang.yaml")
    available_sops(folder)
    assert len(loads) == 2


def test_added_removed_and_broken_files(folder: Path, loads: list[Path]) -> None:
    assert sorted(available_sops(folder)) == ["kendal", "singkawang"]
    shutil.copy(sops_dir() / "yogyakarta.yaml", folder / "yogyakarta.yaml")
    assert sorted(available_sops(folder)) == ["kendal", "singkawang", "yogyakarta"]
    (folder / "kendal.yaml").unlink()
    assert sorted(available_sops(folder)) == ["singkawang", "yogyakarta"]
    (folder / "singkawang.yaml").write_text("id: [not, valid", encoding="utf-8")
    assert sorted(available_sops(folder)) == ["yogyakarta"]  # a broken file drops out, the rest stays
    assert len(loads) == 4


def test_folders_are_cached_separately(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = tmp_path_factory.mktemp("other")
    shutil.copy(sops_dir() / "gunung_mas.yaml", other / "gunung_mas.yaml")
    assert sorted(available_sops(folder)) == ["kendal", "singkawang"]
    assert sorted(available_sops(other)) == ["gunung_mas"]
    assert sorted(available_sops(folder)) == ["kendal", "singkawang"]


def test_the_report_keeps_each_broken_files_error_with_the_sops(folder: Path, loads: list[Path]) -> None:
    (folder / "bogor.yaml").write_text("id: bogor\nsteps: [1, 2\n", encoding="utf-8")
    sops, errors = available_sops_report(folder)
    assert sorted(sops) == ["kendal", "singkawang"]
    assert [Path(e.source).name for e in errors] == ["bogor.yaml"]
    errors.clear()
    assert [Path(e.source).name for e in available_sops_report(folder)[1]] == ["bogor.yaml"]
    assert available_sops(folder) == sops
    assert len(loads) == 1

