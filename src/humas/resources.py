"""Where the project's data files live (SOPs, rosters, platform profiles, sample content), and the one reader
that keeps what was parsed from them until a file changes.

Long-lived processes (the triggerer, the DAG processor, the approval app) and every task ask for the same
files again and again; ``cached`` parses a file once and parses it again only when its signature (path,
mtime, size, inode) changes, so an edited SOP, roster or ``platforms.yaml`` is seen on the next call without
a restart.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Hashable, Iterable, TypeVar

T = TypeVar("T")
Signature = tuple[tuple[str, int, int, int], ...]

# (path, parser, variant) -> (signature, what the parser returned); the least recently used entry goes first.
_CACHE: OrderedDict[tuple[Path, str, Hashable], tuple[Signature, object]] = OrderedDict()
_MAX_ENTRIES = 64
_LOCK = threading.Lock()  # the triggerer and the web apps ask from several threads


def include_dir() -> Path:
    """``$HUMAS_INCLUDE_DIR`` if set (containers mount it), else the repo's ``include/``."""
    configured = os.environ.get("HUMAS_INCLUDE_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "include"


def sops_dir() -> Path:
    return include_dir() / "sops"


def platforms_file() -> Path:
    return include_dir() / "platforms.yaml"


def signature(paths: Iterable[Path]) -> Signature | None:
    """Name, mtime, size and inode of each file; ``None`` when one is missing (or vanished while listed)."""
    stamps = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            return None
        stamps.append((str(path), st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(stamps)


def cached(path: Path, parse: Callable[[Path], T], *, files: Callable[[Path], Iterable[Path]] | None = None,
           variant: Hashable = None) -> T:
    """``parse(path)``, kept until the file changes; for a folder, until a file that ``files(path)`` lists changes
    or one is added or removed.

    ``variant`` tells apart results that depend on more than the file (a roster is checked against its SOP's
    roles). A missing file is never kept: ``parse`` is asked each time and says what is wrong. Callers must
    not change what they get back, or copy it first.
    """
    stamp = signature(files(path) if files else [path])  # taken before parsing: an edit during it is seen next time
    if stamp is None:
        return parse(path)
    key = (path, f"{getattr(parse, '__module__', '')}.{getattr(parse, '__qualname__', repr(parse))}", variant)
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is not None and entry[0] == stamp:
            _CACHE.move_to_end(key)
            return entry[1]  # type: ignore[return-value]
    value = parse(path)
    with _LOCK:
        _CACHE[key] = (stamp, value)
        _CACHE.move_to_end(key)
        while len(_CACHE) > _MAX_ENTRIES:
            _CACHE.popitem(last=False)
    return value
