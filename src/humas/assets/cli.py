"""`humas check FILE...`: the pipeline's design check, run locally before the files are dropped.

Exit status: 0 every file is publishable on every channel asked, 1 some finding is an error,
2 usage (unknown channel or placement, unreadable file).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from humas.assets.check import FITS, check_assets
from humas.assets.model import AssetReview, Finding
from humas.exceptions import HumasError
from humas.profiles import load_profiles

LOCAL_ITEM = "pemeriksaan-lokal"
_MARK = {"error": "GALAT", "warning": "PERINGATAN", "info": "catatan"}


class UsageError(Exception):
    """A command line the check cannot run (exit status 2)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `check` subcommand to the `humas` command line."""
    parser = subparsers.add_parser(
        "check", help="check design files the way the pipeline does, before dropping them",
        description="Check design files against the platform profiles: real format, integrity, "
                    "decompression bombs, size, ratio, colour, EXIF, duplicates and the caption.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="design files, in post order")
    parser.add_argument("--channel", action="append", dest="channels", metavar="CHANNEL",
                        help="instagram, facebook or x; repeat for several (default: every channel)")
    parser.add_argument("--placement", action="append", default=[], metavar="CHANNEL=PLACEMENT",
                        help="a placement other than the channel's default, e.g. instagram=story")
    parser.add_argument("--caption", help="the caption, checked against each channel's limits")
    parser.add_argument("--fit", choices=FITS, default="pad", help="pad (keep the whole design) or crop")
    parser.add_argument("--json", action="store_true", help="print one JSON verdict per file with its codes")
    parser.add_argument("--out", metavar="DIR", help="also write the renditions and the preview sheet here")
    parser.set_defaults(func=run_check)


def _overrides(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        channel, sep, placement = pair.partition("=")
        if not sep or not channel or not placement:
            raise UsageError(f"--placement {pair!r}: write CHANNEL=PLACEMENT, e.g. instagram=story")
        overrides[channel] = placement
    return overrides


def _read(paths: list[str]) -> tuple[list[str], list[tuple[str, Path]]]:
    """(display paths, [(asset name, file)]); names are base names unless two files share one. The check reads
    each file itself: an image up to the size it refuses, a video streamed."""
    bases = [os.path.basename(p) for p in paths]
    names = [b if bases.count(b) == 1 else p for b, p in zip(bases, paths)]
    for path in paths:
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    return paths, [(name, Path(path)) for name, path in zip(names, paths)]


def _file_json(review: AssetReview, path: str, name: str) -> dict:
    findings = review.findings_for(name)
    blocked = [c for c in review.channels if any(f.blocking and f.applies_to(c) for f in findings)]
    return {
        "file": path, "name": name, "ok": not blocked, "verdict": "blocked" if blocked else "publishable",
        "sha256": review.asset_digests.get(name), "blocked_channels": blocked,
        "codes": [f.code for f in findings], "findings": [f.to_dict() for f in findings],
    }


def verdict_json(review: AssetReview, paths: list[str], names: list[str]) -> dict:
    """The --json document: one verdict per file, plus the item-level findings (caption, counts)."""
    return {
        "ok": review.ok,
        "channels": review.to_json()["channels"],
        "files": [_file_json(review, p, n) for p, n in zip(paths, names)],
        "item_findings": [f.to_dict() for f in review.findings if f.asset is None],
    }


def _line(finding: Finding) -> str:
    where = f" [{finding.channel}]" if finding.channel else ""
    return f"  {_MARK[finding.severity]} {finding.code}{where}: {finding.message_id}"


def _print_text(review: AssetReview, paths: list[str], names: list[str]) -> None:
    for path, name in zip(paths, names):
        data = _file_json(review, path, name)
        verdict = "SIAP TERBIT" if data["ok"] else "PERLU PERBAIKAN untuk " + ", ".join(data["blocked_channels"])
        print(f"{path}: {verdict}")
        for finding in review.findings_for(name):
            print(_line(finding))
    item = [f for f in review.findings if f.asset is None]
    if item:
        print("Item dan keterangan:")
        for finding in item:
            print(_line(finding))
    print("Hasil: semua siap terbit." if review.ok else "Hasil: ada yang harus diperbaiki sebelum terbit.")


def _write_out(review: AssetReview, folder: str) -> None:
    root = Path(folder)
    for rendition in review.renditions:
        target = root / rendition.channel / rendition.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if rendition.path:
            shutil.copyfile(rendition.path, target)
        else:
            target.write_bytes(rendition.data)
    if review.preview is not None:
        root.mkdir(parents=True, exist_ok=True)
        (root / "preview.jpg").write_bytes(review.preview)


def run_check(args: argparse.Namespace) -> int:
    """Handler of `humas check`: 0 all publishable, 1 an error finding, 2 usage."""
    try:
        channels = args.channels or list(load_profiles())
        paths, assets = _read(args.files)
        review = check_assets(LOCAL_ITEM, assets, channels, args.caption,
                              placement_overrides=_overrides(args.placement), fit=args.fit)
    except (UsageError, HumasError) as exc:
        print(f"humas check: {exc}", file=sys.stderr)
        return 2
    names = [name for name, _ in assets]
    if args.json:
        print(json.dumps(verdict_json(review, paths, names), ensure_ascii=False, indent=2))
    else:
        _print_text(review, paths, names)
    if args.out:
        _write_out(review, args.out)
    return 0 if review.ok else 1
