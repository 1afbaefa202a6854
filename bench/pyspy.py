"""py-spy over the embedded stack's components: record a window, then where the CPU went, per function.

    .venv/bin/python -m bench.pyspy DIR [--top 25]     # summarise the raw files a bench recorded into DIR

``record`` starts one ``py-spy record --subprocesses -f raw`` per component (its process group leader, so the
scheduler's forked tasks, the triggerer's runner and the API server's workers are in it); py-spy samples only
threads that run (not idle ones), so samples / rate is about the CPU-seconds spent there. ``summarise`` reads
the raw files: per component, the samples of each function as the innermost frame (self) and anywhere on the
stack (inclusive, counted once per sample), and of each source file of ours or a library's.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

RATE = 50
PY_SPY = str(Path(sys.executable).parent / "py-spy")
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def record(pids: dict[str, int], seconds: float, out_dir: Path, label: str) -> list[subprocess.Popen]:
    """Start recording each component for ``seconds`` into ``out_dir/<label>.<component>.txt``; the processes
    to wait for. A component that is not Python (PostgreSQL) just fails its py-spy, quietly."""
    out_dir.mkdir(parents=True, exist_ok=True)
    spy = PY_SPY if Path(PY_SPY).exists() else shutil.which("py-spy") or "py-spy"
    return [subprocess.Popen([spy, "record", "--subprocesses", "--nonblocking", "-r", str(RATE), "-d",
                              str(int(seconds)), "-f", "raw", "-o", str(out_dir / f"{label}.{name}.txt"),
                              "--pid", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items() if name != "postgres"]


def frames(stack: str) -> list[tuple[str, str]]:
    """(function, file) of each frame of a raw stack line, outermost first (the process's frame dropped)."""
    out = []
    for part in stack.split(";"):
        hit = _FRAME.match(part.strip())
        if hit:
            out.append((hit["func"], hit["file"]))
    return out


def where(file: str) -> str:
    """A short name of a source file: ours by path, a library by its top package."""
    for mark in ("/site-packages/", "/lib/python3.11/"):
        if mark in file:
            return file.split(mark, 1)[1].split("/", 1)[0].removesuffix(".py")
    for mark in ("/src/", "/plugins/"):
        if mark in file:
            return file.split(mark, 1)[1]
    return file if not file.startswith("/") else file.rsplit("/", 1)[-1]  # (py-spy gives ours relative)


def summarise(path: Path) -> dict[str, Counter]:
    """Samples by innermost function (self), by function anywhere on the stack (inclusive) and by the source
    of the innermost frame (library or our module)."""
    self_, incl, source = Counter(), Counter(), Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n, got = int(count), frames(stack)
        total += n
        if not got:
            continue
        func, file = got[-1]
        self_[f"{func} ({where(file)})"] += n
        source[where(file)] += n
        for name in {f"{f} ({where(fl)})" for f, fl in got}:
            incl[name] += n
    return {"total": Counter({"samples": total}), "self": self_, "inclusive": incl, "source": source}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="only files whose name contains this (a window's label)")
    args = parser.parse_args()
    for path in sorted(args.dir.glob(f"*{args.match}*.txt")):
        got = summarise(path)
        total = got["total"]["samples"]
        print(f"== {path.name}: {total} samples = {total / RATE:.1f} CPU-s")
        for what in ("source", "inclusive", "self"):
            print(f"  -- {what}")
            for name, n in got[what].most_common(args.top):
                print(f"  {n / RATE:7.2f} s {100 * n / max(total, 1):5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
