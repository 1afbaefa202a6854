"""A video corpus made by the tests with PyAV: small real clips, each platform limit just over, hostile files.

Everything is tiny (64-540 px, 1-4 s, static frames that encode in milliseconds). Long durations and huge sizes
are *claims*: a short clip whose headers (mvhd/tkhd/mdhd durations, tkhd/stsd sizes, the display matrix) are
edited in place, which is exactly what a hostile or damaged file does. `build(directory)` writes every file
once and returns {name: path}; v-render and v-publish may import this module read-only.
"""
from __future__ import annotations

import io
import struct
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

# --- making clips --------------------------------------------------------------------------------------

_ENCODER = {"libx264": {"preset": "ultrafast", "x264-params": "8x8dct=1:cabac=1"},   # fast, still H.264 High
            "libx265": {"preset": "ultrafast", "x265-params": "log-level=none"}}


def clip(path: Path, *, width: int = 324, height: int = 576, seconds: float = 3.2, fps: float = 24,
         codec: str = "libx264", pix_fmt: str = "yuv420p", audio_rate: int | None = 48000, layout: str = "mono",
         fmt: str = "mp4", faststart: bool = True, frame_ms: list[int] | None = None, hold_last: float = 0.0,
         max_frames: int | None = 12) -> Path:
    """One clip: a grey level stepping every frame (cheap to encode) and silent AAC; `frame_ms` gives each
    frame's presentation time in ms (variable frame rate) instead of a steady `fps`; `hold_last` seconds are
    added to the last frame's duration (a long clip that costs nothing to encode: the sample table, and so
    FFmpeg and the platforms, count them). At most `max_frames` are encoded (None: all): the rest of
    `seconds` is held on the last frame, so a 3-second clip costs half a second of frames."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format=fmt, options=options) as out:
        video = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1001), options=_ENCODER[codec])
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        if frame_ms is not None:
            video.time_base = video.codec_context.time_base = Fraction(1, 1000)
        audio = out.add_stream("aac", rate=audio_rate, layout=layout) if audio_rate else None
        count = len(frame_ms) if frame_ms is not None else round(seconds * fps)
        if frame_ms is None and max_frames is not None and count > max_frames:
            hold_last, count = hold_last + (count - max_frames) / fps, max_frames
        picture = np.zeros((height, width, 3), np.uint8)
        packets = []
        for index in range(count):
            picture[:] = (index * 9) % 256
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            if frame_ms is not None:
                frame.pts, frame.time_base = frame_ms[index], Fraction(1, 1000)
            packets += video.encode(frame)
        packets += video.encode()
        if hold_last:
            packets[-1].duration += round(hold_last / packets[-1].time_base)
        out.mux(packets)
        if audio is not None:
            _silence(out, audio, seconds if frame_ms is None else frame_ms[-1] / 1000, audio_rate, layout)
    return path


def _silence(out, audio, seconds: float, rate: int, layout: str) -> None:
    channels = av.AudioLayout(layout).nb_channels
    for start in range(0, int(seconds * rate), 1024):
        frame = av.AudioFrame.from_ndarray(np.zeros((channels, 1024), np.float32), format="fltp", layout=layout)
        frame.sample_rate, frame.pts = rate, start
        out.mux(audio.encode(frame))
    out.mux(audio.encode())


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as out:
        audio = out.add_stream("aac", rate=48000)
        _silence(out, audio, 1.0, 48000, "stereo")
    return path


def animated_gif(path: Path, frames: int = 12, size: int = 64, delay_ms: int = 100) -> Path:
    images = [Image.new("RGB", (size, size), ((i * 20) % 256, 80, 160)) for i in range(frames)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=delay_ms, loop=0)
    return path


def still_gif(path: Path) -> Path:
    Image.new("RGB", (64, 64), (200, 30, 30)).save(path)
    return path


# --- editing headers (claims) -----------------------------------------------------------------------------

def _boxes(data: bytes, start: int, end: int):
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack(">I4s", data[position:position + 8])
        size = end - position if size == 0 else size
        yield kind, position, size
        position += size


def find_boxes(data: bytes, path: tuple[bytes, ...]) -> list[int]:
    """Offsets of every box at `path` (e.g. (b"moov", b"trak", b"tkhd")) in an MP4/MOV."""
    found = [(0, len(data))]
    for depth, kind in enumerate(path):
        inner = []
        for start, end in found:
            first = start if depth == 0 else start + 8
            inner += [(p, p + s) for k, p, s in _boxes(data, first, end) if k == kind]
        found = inner
    return [start for start, _ in found]


def _put(data: bytearray, offset: int, fmt: str, *values) -> None:
    struct.pack_into(fmt, data, offset, *values)


def _timescale(data: bytes, box: int) -> tuple[int, int]:
    """(version, timescale) of an mvhd/mdhd box at `box`."""
    version = data[box + 8]
    return version, struct.unpack_from(">I", data, box + (28 if version else 20))[0]


def claim_duration(data: bytes, seconds: float) -> bytes:
    """The same file with mvhd, every tkhd and mdhd (and edit list) saying it lasts `seconds`."""
    out = bytearray(data)
    mvhd = find_boxes(data, (b"moov", b"mvhd"))[0]
    version, movie_scale = _timescale(data, mvhd)
    _put(out, mvhd + (32 if version else 24), ">Q" if version else ">I", round(seconds * movie_scale))
    for tkhd in find_boxes(data, (b"moov", b"trak", b"tkhd")):
        version = data[tkhd + 8]
        _put(out, tkhd + (36 if version else 28), ">Q" if version else ">I", round(seconds * movie_scale))
    for elst in find_boxes(data, (b"moov", b"trak", b"edts", b"elst")):
        if data[elst + 8] == 0 and struct.unpack_from(">I", data, elst + 12)[0] == 1:
            _put(out, elst + 16, ">I", round(seconds * movie_scale))
    for mdhd in find_boxes(data, (b"moov", b"trak", b"mdia", b"mdhd")):
        version, scale = _timescale(data, mdhd)
        _put(out, mdhd + (32 if version else 24), ">Q" if version else ">I", round(seconds * scale))
    return bytes(out)


def claim_size(data: bytes, width: int, height: int) -> bytes:
    """The same file whose video track header and sample entry declare width x height."""
    out = bytearray(data)
    for trak in find_boxes(data, (b"moov", b"trak")):
        tkhd = find_boxes(data[trak:], (b"trak", b"tkhd"))
        if not tkhd:
            continue
        tkhd = trak + tkhd[0]
        version = data[tkhd + 8]
        at = tkhd + 8 + 4 + (32 if version else 20) + 16 + 36
        if struct.unpack_from(">I", data, at)[0]:          # a visual track (audio has 0 x 0)
            _put(out, at, ">II", width << 16, height << 16)
    for stsd in find_boxes(data, (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd")):
        if data[stsd + 20:stsd + 24] in (b"avc1", b"hvc1", b"hev1"):
            _put(out, stsd + 16 + 32, ">HH", width, height)
    return bytes(out)


def turn(data: bytes, degrees: int) -> bytes:
    """The same file with the video track's display matrix turning the picture `degrees` clockwise (as a phone
    held upright writes 90)."""
    a, b = {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}[degrees]
    out = bytearray(data)
    for tkhd in find_boxes(data, (b"moov", b"trak", b"tkhd")):
        version = data[tkhd + 8]
        at = tkhd + 8 + 4 + (32 if version else 20) + 16
        if struct.unpack_from(">I", data, at + 36)[0]:     # visual track
            _put(out, at, ">iiiii", a << 16, b << 16, 0, -b << 16, a << 16)
    return bytes(out)


def claim_frames(data: bytes, count: int) -> bytes:
    """The same file whose sample size tables (stsz) declare `count` samples."""
    out = bytearray(data)
    for stsz in find_boxes(data, (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsz")):
        _put(out, stsz + 16, ">I", count)
    return bytes(out)


def with_huge_index(path: Path, declared: int = 200 * 1024 ** 2) -> Path:
    """ftyp + a moov box declaring `declared` bytes, the file as long as that (sparse: no disk is used)."""
    with open(path, "wb") as fh:
        fh.write(struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 512, b"isom", b"mp41"))
        fh.write(struct.pack(">I4s", declared, b"moov"))
        fh.truncate(24 + declared)
    return path


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("video.mp4", b"not really")
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 500), (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


# --- the corpus -------------------------------------------------------------------------------------

def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def build(directory: Path) -> dict[str, Path]:
    """Write every corpus file into `directory`; {file name: path}. Well under a few seconds."""
    d = Path(directory)
    files: dict[str, Path] = {}

    def add(name: str, path: Path) -> None:
        files[name] = path

    add("good.mp4", clip(d / "good.mp4", width=540, height=960, layout="stereo"))  # fits IG Reels, FB Reels, X
    base = clip(d / "base.mp4", seconds=3.2)                                      # 324x576, 9:16, 24 fps
    data = base.read_bytes()
    add("base.mp4", base)
    add("hevc.mp4", clip(d / "hevc.mp4", codec="libx265"))
    add("clip.mov", clip(d / "clip.mov", fmt="mov"))
    add("mov_named.mp4", _write(d, "mov_named.mp4", files["clip.mov"].read_bytes()))
    add("vfr.mp4", clip(d / "vfr.mp4", frame_ms=[i * 40 + (i % 3) * 13 for i in range(80)]))
    add("rotated.mp4", _write(d, "rotated.mp4", turn(clip(d / "landscape.mp4", width=576, height=324).read_bytes(), 90)))
    add("moov_end.mp4", clip(d / "moov_end.mp4", faststart=False))
    add("audio64k.mp4", clip(d / "audio64k.mp4", audio_rate=64000))             # AAC above 48 kHz
    add("surround.mp4", clip(d / "surround.mp4", layout="5.1"))                # 6 channels: X takes 2
    add("no_audio.mp4", clip(d / "no_audio.mp4", audio_rate=None))
    add("high444.mp4", clip(d / "high444.mp4", pix_fmt="yuv444p"))             # H.264 High 4:4:4: not on X
    add("short.mp4", clip(d / "short.mp4", seconds=2.9))                       # Reels need 3 s
    add("narrow.mp4", clip(d / "narrow.mp4", width=318, height=566))          # Reels need 320 px wide
    add("fps22.mp4", clip(d / "fps22.mp4", fps=22))                            # Reels need 23 fps
    add("wide.mp4", clip(d / "wide.mp4", width=576, height=324))               # 16:9: far from FB Reels' 9:16
    add("over3to1.mp4", clip(d / "over3to1.mp4", width=620, height=200, seconds=1.0))   # X takes up to 3:1
    add("x1282.mp4", clip(d / "x1282.mp4", width=1282, height=720, seconds=1.0))        # X takes 1280 px wide
    for name, seconds, size in (("fb_reels_91s.mp4", 91, (540, 960)), ("story_61s.mp4", 61, (324, 576)),
                                ("x_141s.mp4", 141, (324, 576)), ("reels_901s.mp4", 901, (324, 576))):
        add(name, clip(d / name, width=size[0], height=size[1], seconds=1.0, hold_last=seconds - 1.0))
    add("animated.gif", animated_gif(d / "animated.gif"))
    add("still.gif", still_gif(d / "still.gif"))
    # hostile
    add("empty.mp4", _write(d, "empty.mp4", b""))
    add("truncated.mp4", _write(d, "truncated.mp4", data[:len(data) // 2]))
    moov_end = files["moov_end.mp4"].read_bytes()
    add("unfinished.mp4", _write(d, "unfinished.mp4", moov_end[:find_boxes(moov_end, (b"moov",))[0]]))
    add("huge_dims.mp4", _write(d, "huge_dims.mp4", claim_size(data, 20000, 20000)))
    add("billion_frames.mp4", _write(d, "billion_frames.mp4", claim_frames(data, 1_000_000_000)))
    add("ten_hours.mp4", _write(d, "ten_hours.mp4", claim_duration(data, 36000)))
    add("zip.mp4", _write(d, "zip.mp4", zip_bytes()))
    add("jpeg.mp4", _write(d, "jpeg.mp4", jpeg_bytes()))
    add("video.jpg", _write(d, "video.jpg", data))
    add("huge_moov.mp4", with_huge_index(d / "huge_moov.mp4"))
    add("audio_only.mp4", audio_only(d / "audio_only.mp4"))
    moov = find_boxes(data, (b"moov",))[0]
    garbage = data[:moov + 8] + bytes((i * 37 + 11) % 256 for i in range(400)) + data[moov + 408:]
    add("garbage_index.mp4", _write(d, "garbage_index.mp4", garbage))
    add("webm.mp4", _write(d, "webm.mp4", b"\x1a\x45\xdf\xa3" + bytes(200)))
    return files
