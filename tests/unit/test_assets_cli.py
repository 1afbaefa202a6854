"""`humas check FILE... [--channel ...] [--json]` on the generated corpus."""
from __future__ import annotations

import argparse
import json

import pytest

from humas.assets.cli import register

import asset_corpus as corpus

EXPECTED = {
    "bom.png": (corpus.png_bomb, "ASSET_DECOMPRESSION_BOMB"),
    "bom-nyata.png": (corpus.png_real_bomb, "ASSET_DECOMPRESSION_BOMB"),
    "terpotong.jpg": (corpus.truncated_jpeg, "ASSET_TRUNCATED"),
    "rusak.png": (corpus.corrupt_png, "ASSET_CORRUPT"),
    "poster.jpg": (corpus.pdf_bytes, "ASSET_FORMAT_MISMATCH"),
    "setup.png": (corpus.exe_bytes, "ASSET_FORMAT_MISMATCH"),
    "kosong.jpg": (lambda: b"", "ASSET_EMPTY"),
    "cetak.jpg": (corpus.cmyk_jpeg_with_icc, "ASSET_CMYK_CONVERTED"),
    "foto-hp.jpg": (corpus.rotated_photo_with_gps, "ASSET_GPS_REMOVED"),
    "grafik16.png": (corpus.png16_rgb, "ASSET_16BIT_REDUCED"),
    "animasi.gif": (corpus.animated_gif, "VIDEO_GIF_LOOPED"),   # kept as GIF on X, a looped MP4 elsewhere
    "besar.jpg": (corpus.noise_jpeg, "ASSET_FILE_TOO_LARGE"),
}


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="humas")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    for name, (make, _) in EXPECTED.items():
        (folder / name).write_bytes(make())
    return folder


def test_json_gives_the_documented_code_for_every_file(corpus_dir, capsys):
    files = [str(corpus_dir / name) for name in EXPECTED]
    # one file per run: X takes 4 images per post, and each file should stand on its own here
    for path, (name, (_, code)) in zip(files, EXPECTED.items()):
        status, out, err = run(["check", path, "--json"], capsys)
        verdict = json.loads(out)["files"][0]
        assert code in verdict["codes"], (name, verdict["codes"], err)
        assert verdict["file"] == path
        assert status == (0 if verdict["ok"] else 1)


def test_hostile_files_are_blocked_and_the_exit_status_says_so(corpus_dir, capsys):
    files = [str(corpus_dir / n) for n in ("bom.png", "terpotong.jpg", "poster.jpg")]
    status, out, _ = run(["check", *files, "--json", "--channel", "instagram", "--channel", "facebook"], capsys)

    report = json.loads(out)
    assert status == 1 and report["ok"] is False
    assert [f["verdict"] for f in report["files"]] == ["blocked"] * 3
    assert report["files"][0]["blocked_channels"] == ["instagram", "facebook"]
    assert set(report["channels"]) == {"instagram", "facebook"}


def test_good_file_exits_zero_with_text_in_bahasa_indonesia(corpus_dir, capsys):
    status, out, _ = run(["check", str(corpus_dir / "foto-hp.jpg"), "--caption", "Info HUT Kota"], capsys)

    assert status == 0
    assert "SIAP TERBIT" in out and "ASSET_GPS_REMOVED" in out and "Hasil: semua siap terbit." in out


def test_caption_problems_are_item_findings(corpus_dir, capsys):
    status, out, _ = run(["check", str(corpus_dir / "foto-hp.jpg"), "--caption", "z" * 300, "--json"], capsys)

    report = json.loads(out)
    assert status == 1 and report["files"][0]["ok"] is True
    assert [(f["code"], f["channel"]) for f in report["item_findings"]] == [("CAPTION_TOO_LONG", "x")]


def test_out_writes_renditions_and_the_preview(corpus_dir, tmp_path, capsys):
    status, _, _ = run(["check", str(corpus_dir / "cetak.jpg"), "--channel", "instagram",
                        "--placement", "instagram=story", "--out", str(tmp_path / "hasil")], capsys)

    assert status == 0
    assert (tmp_path / "hasil" / "instagram" / "01-cetak.jpg").is_file()
    assert (tmp_path / "hasil" / "preview.jpg").is_file()


@pytest.mark.parametrize("argv", [
    ["check", "/nonexistent/poster.jpg"],
    ["check", "PLACEHOLDER", "--channel", "tiktok"],
    ["check", "PLACEHOLDER", "--placement", "instagram"],
])
def test_usage_errors_exit_2(argv, corpus_dir, capsys):
    argv = [str(corpus_dir / "cetak.jpg") if a == "PLACEHOLDER" else a for a in argv]
    status, out, err = run(argv, capsys)

    assert status == 2 and out == "" and err.startswith("humas check:")


def test_the_humas_command_line_registers_check(capsys):
    cli = pytest.importorskip("humas.cli")
    parser = cli.build_parser()
    args = parser.parse_args(["check", "x.jpg", "--json"])

    assert args.func.__name__ == "run_check"


def test_a_video_is_checked_from_its_file_and_its_renditions_written_out(tmp_path, capsys):
    import video_corpus

    clip = video_corpus.clip(tmp_path / "klip.mp4", width=540, height=960, seconds=3.5)
    status, out, _ = run(["check", str(clip), "--channel", "x", "--json", "--out", str(tmp_path / "hasil")], capsys)

    verdict = json.loads(out)["files"][0]
    assert status == 0 and verdict["ok"], verdict
    written = tmp_path / "hasil" / "x" / "klip.mp4"
    assert written.stat().st_size > 0 and written.read_bytes()[4:8] == b"ftyp"
