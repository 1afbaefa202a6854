"""The ISO-BMFF (MP4/MOV) boxes we read ourselves, before FFmpeg sees the file: cheap, bounded, no decoding.

The top level is walked by seeking from box header to box header (16 bytes read per box), so a 10 GB file
costs a few reads. Only the `moov` box (the index) is read whole, and only when it is below a size cap; inside it
we read what refuses a hostile file early: the declared duration, each track's size and display matrix.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl"})
QUICKTIME_TOP = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})  # old MOV files have no ftyp


class BoxError(Exception):
    """The box structure is broken; `truncated` when a box runs past the end of the file."""

    def __init__(self, detail: str, truncated: bool = False) -> None:
        super().__init__(detail)
        self.truncated = truncated


@dataclass(frozen=True)
class Box:
    type: bytes
    start: int      # offset of the box header in its parent (the file for top-level boxes)
    header: int     # 8, or 16 with a 64-bit size
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass
class Track:
    handler: bytes = b""
    sample_format: bytes = b""
    width: float = 0.0           # tkhd, display size before rotation
    height: float = 0.0
    coded_width: int = 0         # stsd visual sample entry
    coded_height: int = 0
    rotation: int = 0            # degrees clockwise, from the tkhd display matrix
    seconds: float = 0.0         # mdhd duration / timescale
    samples: int = 0             # stsz sample count (frames, for video)


@dataclass
class Movie:
    """What the top level and the moov box declare."""

    brand: bytes = b""           # ftyp major brand (b"" for an old QuickTime file without ftyp)
    moov: Box | None = None
    mdat: Box | None = None
    seconds: float = 0.0         # mvhd duration / timescale
    tracks: list[Track] = field(default_factory=list)

    @property
    def faststart(self) -> bool:
        """The index (moov) comes before the media data, so a player can start before the whole file is there."""
        return self.moov is not None and (self.mdat is None or self.moov.start < self.mdat.start)


def _header(data: bytes, position: int, limit: int) -> Box:
    if limit - position < 8:
        raise BoxError(f"a box header at byte {position} is cut off", truncated=True)
    size, kind = struct.unpack(">I4s", data[position:position + 8])
    header = 8
    if size == 1:
        if limit - position < 16:
            raise BoxError(f"a box header at byte {position} is cut off", truncated=True)
        size = struct.unpack(">Q", data[position + 8:position + 16])[0]
        header = 16
    elif size == 0:
        size = limit - position
    if size < header:
        raise BoxError(f"box {kind!r} at byte {position} declares {size} bytes")
    return Box(kind, position, header, size)


def top_level(fh: BinaryIO, file_size: int, max_boxes: int) -> list[Box]:
    """The top-level boxes, by seeking over each; stops quietly after `max_boxes` (fragmented files)."""
    boxes: list[Box] = []
    position = 0
    while position < file_size and len(boxes) < max_boxes:
        fh.seek(position)
        remaining = file_size - position
        box = _header(fh.read(16), 0, remaining)
        if box.size > remaining:
            raise BoxError(f"box {box.type.decode('latin-1')!r} at byte {position} declares {box.size} bytes "
                           f"but only {remaining} remain", truncated=True)
        boxes.append(Box(box.type, position, box.header, box.size))
        position += box.size
    return boxes


def children(data: bytes, start: int, end: int, budget: list[int]) -> list[Box]:
    """The boxes inside data[start:end]; `budget` (one int in a list) caps how many are read overall."""
    found = []
    position = start
    while position < end:
        budget[0] -= 1
        if budget[0] < 0:
            raise BoxError("the index (moov) holds too many boxes")
        box = _header(data, position, end)
        if box.end > end:
            raise BoxError(f"box {box.type.decode('latin-1')!r} overruns its parent")
        found.append(box)
        position = box.end
    return found


def _fixed(value: int) -> float:
    """A signed 16.16 fixed-point number."""
    return (value - (1 << 32) if value & 0x80000000 else value) / 65536


def _rotation(a: float, b: float) -> int:
    """Clockwise degrees of the display matrix [a b; c d], snapped to a quarter turn (as FFmpeg's displaymatrix)."""
    if a == 0 and b == 0:
        return 0
    return (round(math.degrees(math.atan2(b, a)) / 90) * 90) % 360


def _tkhd(body: bytes, track: Track) -> None:
    offset = 4 + (32 if body[0] == 1 else 20) + 16   # times, track id, reserved, duration; reserved, layer, ...
    if len(body) < offset + 44:
        raise BoxError("track header (tkhd) is too short")
    a, b = (_fixed(v) for v in struct.unpack(">II", body[offset:offset + 8]))
    track.rotation = _rotation(a, b)
    width, height = struct.unpack(">II", body[offset + 36:offset + 44])
    track.width, track.height = width / 65536, height / 65536


def _duration(body: bytes) -> float:
    """mvhd/mdhd: duration / timescale (version 0: 32-bit times, version 1: 64-bit)."""
    if body[:1] == b"\x01" and len(body) >= 32:
        timescale, duration = struct.unpack(">IQ", body[20:32])
    elif len(body) >= 20:
        timescale, duration = struct.unpack(">II", body[12:20])
    else:
        raise BoxError("movie/media header is too short")
    return duration / timescale if timescale else 0.0


def _stsd(body: bytes, track: Track) -> None:
    if len(body) < 16:
        return
    track.sample_format = body[12:16]
    if track.handler == b"vide" and len(body) >= 8 + 8 + 8 + 16 + 4:
        track.coded_width, track.coded_height = struct.unpack(">HH", body[8 + 32:8 + 36])


def _walk(data: bytes, parent: Box, movie: Movie, track: Track | None, budget: list[int]) -> None:
    for box in children(data, parent.start + parent.header, parent.end, budget):
        body = data[box.start + box.header:box.end]
        if box.type == b"trak":
            track = Track()
            movie.tracks.append(track)
        if box.type in CONTAINERS:
            _walk(data, box, movie, track, budget)
        elif box.type == b"mvhd":
            movie.seconds = _duration(body)
        elif track is not None and box.type == b"tkhd":
            _tkhd(body, track)
        elif track is not None and box.type == b"mdhd":
            track.seconds = _duration(body)
        elif track is not None and box.type == b"hdlr" and parent.type == b"mdia" and len(body) >= 12:
            track.handler = body[8:12]
        elif track is not None and box.type == b"stsd":
            _stsd(body, track)
        elif track is not None and box.type == b"stsz" and len(body) >= 12:
            track.samples = struct.unpack(">I", body[8:12])[0]


def read_movie(fh: BinaryIO, file_size: int, max_moov: int, max_boxes: int) -> Movie:
    """Walk the top level, then read the moov box (when not over `max_moov` bytes) and parse what it declares.

    Raises BoxError for a broken structure; returns a Movie whose `moov` is None when there is no index.
    A moov over the cap is returned unread (the caller refuses it)."""
    movie = Movie()
    for box in top_level(fh, file_size, max_boxes):
        if box.type == b"ftyp" and not movie.brand:
            fh.seek(box.start + box.header)
            movie.brand = fh.read(4)
        elif box.type == b"moov" and movie.moov is None:
            movie.moov = box
        elif box.type == b"mdat" and movie.mdat is None:
            movie.mdat = box
    if movie.moov is None or movie.moov.size > max_moov:
        return movie
    fh.seek(movie.moov.start)
    data = fh.read(movie.moov.size)
    _walk(data, Box(b"moov", 0, movie.moov.header, len(data)), movie, None, [4096])
    return movie
