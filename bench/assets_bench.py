"""Benchmark: the design check plus renditions against the naive Pillow path, on camera-sized JPEGs.

    .venv/bin/python -m bench.assets_bench             # 3 x 24 MP + 1 x 50 MP; about a minute on 2 cores
    .venv/bin/python -m bench.assets_bench --quick     # 1 x 24 MP + 1 x 50 MP
    .venv/bin/python bench/assets_bench.py --strict    # exit 1 when a goal is missed

Both paths get the same in-memory bytes and make the same three files (Instagram 1080 px, Facebook and
X 2048 px, JPEG). The naive path is what one writes first with Pillow: open, full decode, resize each
size with Lanczos, save at quality 90. The humas path is `check_assets` for instagram+facebook+x: every
check (signature, header bomb check, integrity, EXIF/GPS, colour, duplicates, geometry), the
renditions (draft decode, reducing-gap resize, metadata stripped, quality fitted to the byte limit,
re-checked against the profile) and the preview sheet.

Goals (issue 3): >= 2x the naive throughput (megapixels of source per second) on 24 MP JPEGs; peak memory
per image no larger than the naive path's; a decompression bomb refused in under 50 ms. Peak memory is
the high-water RSS of a fresh process that handles one image; "delta" subtracts the same process's RSS
before the work (interpreter, Pillow, the file's bytes).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, features

CHANNELS = ["instagram", "facebook", "x"]
NAIVE_WIDTHS = (1080, 2048, 2048)  # the target widths of the same three placements
SIZES_24MP = (6000, 4000)
SIZE_50MP = (8660, 5773)
RATIO_GOAL, BOMB_GOAL_MS = 2.0, 50.0


# --- the corpus ---------------------------------------------------------------------------------------

def camera_like(size: tuple[int, int], seed: int) -> Image.Image:
    """A synthetic photo with a camera's bitrate: soft shapes, hard edges, mid-frequency texture, grain."""
    rng = random.Random(seed)
    width, height = size
    small = (width // 32, height // 32)
    bands = [Image.linear_gradient("L").resize(small).point(lambda v, a=a: int(v * a / 255 + (255 - a) / 2))
             for a in (rng.randrange(80, 200) for _ in range(3))]
    base = Image.merge("RGB", bands)
    draw = ImageDraw.Draw(base)
    for _ in range(40):
        x, y, r = rng.randrange(small[0]), rng.randrange(small[1]), rng.randrange(3, small[1] // 4)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(30, 230) for _ in range(3)))
    picture = base.filter(ImageFilter.GaussianBlur(1.5)).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(picture)
    for _ in range(60):
        x, y = rng.randrange(width), rng.randrange(height)
        draw.rectangle((x, y, x + rng.randrange(20, width // 8), y + rng.randrange(20, height // 8)),
                       fill=tuple(rng.randrange(256) for _ in range(3)))
    texture = Image.effect_noise((width // 3, height // 3), 28).resize(size, Image.Resampling.BICUBIC)
    detail = ImageChops.add(texture, Image.effect_noise(size, 5), 1.0, -128)
    return ImageChops.add(picture, Image.merge("RGB", [detail] * 3), 1.0, -128)


def camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "BenchCam", "BC-24", 1
    exif.get_ifd(0x8825).update({1: "S", 2: (6.0, 58.0, 30.0), 3: "E", 4: (110.0, 25.0, 10.0)})
    return exif


def write_corpus(folder: Path, quick: bool) -> list[Path]:
    """24 MP and 50 MP camera-like JPEGs (quality 92, 4:2:0, EXIF with GPS) written into `folder`."""
    plan = [(f"camera-24mp-{i}.jpg", SIZES_24MP, i) for i in range(1, 2 if quick else 4)]
    plan.append(("camera-50mp.jpg", SIZE_50MP, 50))
    paths = []
    for name, size, seed in plan:
        path = folder / name
        if not path.exists():
            camera_like(size, seed).save(path, "JPEG", quality=92, exif=camera_exif())
        paths.append(path)
    return paths


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def bombs() -> dict[str, bytes]:
    """Three decompression bombs: 10 GP declared in a PNG, 3.6 GP in a JPEG, a real 144 MP zlib bomb."""
    declared = _chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0))
    png_bomb = b"\x89PNG\r\n\x1a\n" + declared + _chunk(b"IDAT", zlib.compress(bytes(4096))) + _chunk(b"IEND", b"")
    small = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 40, 40)).save(small, "JPEG")
    jpeg_bomb = bytearray(small.getvalue())
    sof = jpeg_bomb.index(b"\xff\xc0")
    jpeg_bomb[sof + 5:sof + 9] = struct.pack(">HH", 60_000, 60_000)
    packer, edge = zlib.compressobj(9), 12_000
    idat = b"".join(packer.compress(bytes(edge + 1)) for _ in range(edge)) + packer.flush()
    real = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", edge, edge, 8, 0, 0, 0, 0))
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))
    return {"10 GP PNG header": png_bomb, "3.6 GP JPEG header": bytes(jpeg_bomb), "144 MP real PNG bomb": real}


# --- the two paths -----------------------------------------------------------------------------------

def naive(data: bytes) -> list[bytes]:
    """Open, decode in full, resize to each width with Lanczos, save as JPEG quality 90."""
    image = Image.open(io.BytesIO(data))
    image.load()
    outputs = []
    for width in NAIVE_WIDTHS:
        height = round(image.height * width / image.width)
        buf = io.BytesIO()
        image.resize((width, height), Image.Resampling.LANCZOS).save(buf, "JPEG", quality=90)
        outputs.append(buf.getvalue())
    return outputs


def humas(data: bytes) -> list[bytes]:
    from humas.assets import check_assets

    review = check_assets("bench", [("photo.jpg", data)], CHANNELS, "Benchmark #humas")
    if not review.ok or len(review.renditions) != len(CHANNELS):
        raise SystemExit(f"humas path did not publish: {review.log_lines()}")
    return [r.data for r in review.renditions]


PATHS = {"naive": naive, "humas": humas}


def best_time(path: str, data: bytes, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        PATHS[path](data)
        times.append(time.perf_counter() - start)
    return min(times)


def megapixels(data: bytes) -> float:
    with Image.open(io.BytesIO(data)) as image:
        return image.width * image.height / 1e6


# --- measurements ---------------------------------------------------------------------------------

def throughput(files: list[Path], repeats: int) -> list[dict]:
    warm = files[0].read_bytes()
    for path in PATHS:  # imports, profiles, fonts, first-touch page faults: not part of a steady-state run
        PATHS[path](warm)
    rows = []
    for file in files:
        data = file.read_bytes()
        row = {"file": file.name, "mp": megapixels(data), "mb": len(data) / 1e6}
        for path in PATHS:  # interleaved per file, so both paths see the same machine state
            row[path] = best_time(path, data, repeats)
        rows.append(row)
    return rows


def child_rss(path: str, file: Path) -> dict:
    """Run one path on one file in a fresh interpreter; its RSS before the work and its high-water mark."""
    command = [sys.executable, os.path.abspath(__file__), "--child", path, str(file)]
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=300)
    return json.loads(result.stdout)


def peak_rss_kb() -> int:
    """This process's high-water RSS. Linux's VmHWM belongs to the current program; ru_maxrss would
    also count the parent's pages the child held between fork and exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_child(path: str, file: str) -> None:
    from humas.assets import check_assets  # noqa: F401 - imported before the baseline, like the naive path's PIL

    data = Path(file).read_bytes()
    baseline = peak_rss_kb()
    PATHS[path](data)
    print(json.dumps({"baseline_kb": baseline, "peak_kb": peak_rss_kb()}))


def bomb_times(repeats: int = 20) -> dict[str, tuple[float, str]]:
    from humas.assets import check_assets

    results = {}
    for label, data in bombs().items():
        times, codes = [], set()
        for _ in range(repeats):
            start = time.perf_counter()
            review = check_assets("bench", [("bomb.png", data)], CHANNELS, None)
            times.append((time.perf_counter() - start) * 1000)
            codes |= {f.code for f in review.findings}
        results[label] = (statistics.median(times), ",".join(sorted(codes)))
    return results


# --- report -------------------------------------------------------------------------------------

def _line(label: str, mp: float, naive_s: float, humas_s: float) -> str:
    return (f"{label:<22}{mp:>7.1f}{naive_s:>10.3f}{mp / naive_s:>12.1f}{humas_s:>10.3f}{mp / humas_s:>12.1f}"
            f"{naive_s / humas_s:>8.2f}")


def print_throughput(rows: list[dict]) -> float:
    print(f"\n{'file':<22}{'MP':>7}{'naive s':>10}{'naive MP/s':>12}{'humas s':>10}{'humas MP/s':>12}{'ratio':>8}")
    for row in rows:
        print(_line(row["file"], row["mp"], row["naive"], row["humas"]))
    small = [r for r in rows if r["mp"] < 30]
    total = {key: sum(r[key] for r in small) for key in ("mp", "naive", "humas")}
    print(_line("all 24 MP JPEGs", total["mp"], total["naive"], total["humas"]))
    return total["naive"] / total["humas"]


def print_rss(measured: list[tuple[str, dict, dict]]) -> bool:
    print(f"\n{'peak RSS, one image':<22}{'naive peak':>12}{'(delta)':>10}{'humas peak':>13}{'(delta)':>10}")
    ok = True
    for name, naive_rss, humas_rss in measured:
        mb = {k: (v["peak_kb"] / 1024, (v["peak_kb"] - v["baseline_kb"]) / 1024)
              for k, v in (("naive", naive_rss), ("humas", humas_rss))}
        ok &= mb["humas"][0] <= mb["naive"][0]
        print(f"{name:<22}{mb['naive'][0]:>9.0f} MB{mb['naive'][1]:>+7.0f} MB{mb['humas'][0]:>10.0f} MB"
              f"{mb['humas'][1]:>+7.0f} MB")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one 24 MP file instead of three")
    parser.add_argument("--repeats", type=int, default=3, help="runs per file and path; the best counts")
    parser.add_argument("--keep", metavar="DIR", help="write (and reuse) the corpus here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(*args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="humas-bench-") as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        return run(folder, args)


def run(folder: Path, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    print(f"humas asset benchmark: Pillow {Image.__version__}, libjpeg-turbo {features.version('libjpeg_turbo')}, "
          f"{os.cpu_count()} CPU(s), channels {'+'.join(CHANNELS)}, corpus in {folder}")
    files = write_corpus(folder, args.quick)
    print(f"corpus written in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{f.name} ({f.stat().st_size / 1e6:.1f} MB)" for f in files))
    ratio = print_throughput(throughput(files, args.repeats))
    measured = [(f.name, child_rss("naive", f), child_rss("humas", f)) for f in (files[0], files[-1])]
    rss_ok = print_rss(measured)
    bomb = bomb_times()
    print("\ndecompression bombs (check_assets, median of 20 runs):")
    for label, (ms, codes) in bomb.items():
        print(f"  {label:<22}{ms:>8.2f} ms  {codes}")
    worst = max(ms for ms, _ in bomb.values())
    goals = [(f"throughput ratio on 24 MP JPEGs {ratio:.2f}x (goal >= {RATIO_GOAL})", ratio >= RATIO_GOAL),
             ("peak RSS per image no larger than naive", rss_ok),
             (f"bomb refused in {worst:.2f} ms (goal < {BOMB_GOAL_MS:.0f} ms)", worst < BOMB_GOAL_MS)]
    print()
    for text, ok in goals:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    print(f"ratio vs naive: {ratio:.2f}   (total time {time.perf_counter() - started:.0f} s)")
    return 1 if args.strict and not all(ok for _, ok in goals) else 0


if __name__ == "__main__":
    sys.exit(main())
