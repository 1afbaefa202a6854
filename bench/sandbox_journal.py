"""Benchmark: what one change costs the platform sandbox as its posts pile up, journal vs whole-state rewrite.

    .venv/bin/python -m bench.sandbox_journal            # up to 600 posts; about a minute on 2 cores
    .venv/bin/python -m bench.sandbox_journal --posts 1200

The sandbox stands in for Instagram, Facebook and X in every end-to-end run and benchmark, so its cost
shares the cores with the pipeline it measures. Both ways keep the same posts (one 150 KB image each, as
the pipeline's renditions are) in a state file: the journal (``humas_dev.sandbox.state.State``) appends each
change and writes each image once; the rewrite is how the sandbox kept its state before: the whole state,
images in base64, rewritten after every change. Reported side by side in one run: milliseconds per change
at each size, and the ratio.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from humas_dev.sandbox.images import ImageInfo
from humas_dev.sandbox.state import Post, State, StoredImage

IMAGE_BYTES = 150_000
SAMPLES = 20  # changes timed at each checkpoint


def make_post(n: int) -> Post:
    data = os.urandom(IMAGE_BYTES)
    info = ImageInfo(hashlib.sha256(data).hexdigest(), 1080, 1080, "JPEG", len(data), False)
    return Post("instagram", "17841400000000000", f"18{n:015d}", f"Konten {n} #Humas", f"https://example/{n}",
                time.time(), [StoredImage(info, data)])


def rewrite_whole_state(path: Path, posts: list[Post]) -> None:
    """The former way: every post with its images in base64, the whole file written again."""
    raw = [asdict(post) for post in posts]
    for post in raw:
        for image in post["images"]:
            image["data"] = base64.b64encode(image["data"]).decode("ascii")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"posts": raw}), encoding="utf-8")
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=600, help="posts at the last checkpoint")
    args = parser.parse_args()
    checkpoints = sorted({max(SAMPLES, args.posts // 6), args.posts // 2, args.posts})
    with tempfile.TemporaryDirectory() as folder:
        journal = State(Path(folder) / "journal.json")
        rewritten: list[Post] = []
        print(f"{'posts':>6} {'journal ms':>11} {'rewrite ms':>11} {'ratio':>7}")
        for checkpoint in checkpoints:
            while len(rewritten) < checkpoint - SAMPLES:  # fill untimed, the same posts both ways
                post = make_post(len(rewritten))
                journal.add_post(post)
                rewritten.append(post)
            journal_ms, rewrite_ms = [], []
            for _ in range(SAMPLES):
                post = make_post(len(rewritten))
                start = time.perf_counter()
                journal.add_post(post)
                journal_ms.append((time.perf_counter() - start) * 1000)
                rewritten.append(post)
                start = time.perf_counter()
                rewrite_whole_state(Path(folder) / "rewrite.json", rewritten)
                rewrite_ms.append((time.perf_counter() - start) * 1000)
            j, r = statistics.median(journal_ms), statistics.median(rewrite_ms)
            print(f"{checkpoint:>6} {j:>11.2f} {r:>11.1f} {r / j:>6.0f}x", flush=True)


if __name__ == "__main__":
    main()
