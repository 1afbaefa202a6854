"""Reading videos the way the platforms do: probe the received bytes (PyAV) and hold them to the platforms' specs.

The specs are the sandbox's OWN constants, copied from each platform's document (named beside each), never read
from include/platforms.yaml: a wrong profile there makes renditions the sandbox refuses, so tests catch it.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from humas_dev.sandbox.images import ImageInfo


@dataclass(frozen=True)
class VideoSpec:
    """What one placement takes of a video, as its platform documents it."""

    name: str
    min_seconds: float
    max_seconds: float
    max_bytes: int
    video_codecs: tuple[str, ...] = ("h264", "hevc")
    video_profiles: tuple[str, ...] | None = None
    audio_codecs: tuple[str, ...] = ("aac",)
    audio_profiles: tuple[str, ...] | None = None
    max_audio_rate: int = 48000
    min_width: int = 1
    min_height: int = 1
    max_width: int = 1920
    max_height: int | None = None
    min_fps: float | None = None
    max_fps: float | None = 60
    min_aspect: float | None = None
    max_aspect: float | None = None
    faststart: bool = False           # moov atom before mdat required


# Instagram Reels: Meta, Instagram Platform > IG User Media reference, "Reel specifications" (checked 2026):
# MOV or MP4, moov atom at the front, H.264 or HEVC, AAC <= 48 kHz, 23-60 fps, <= 1920 px wide,
# 3 s - 15 min, <= 300 MB.
IG_REELS = VideoSpec("Instagram Reels", 3, 900, 300 * 1024 * 1024, min_fps=23, faststart=True)
# Instagram video stories: same reference, "Story video specifications": Reels' codecs, 3-60 s, <= 100 MB.
IG_STORY = VideoSpec("Instagram story video", 3, 60, 100 * 1024 * 1024, min_fps=23, faststart=True)
# Instagram carousel video (media_type VIDEO children): same reference, carousel items follow the feed's
# 4:5 to 1.91:1 aspect and Reels' codecs; 3-60 s.
IG_CAROUSEL_VIDEO = VideoSpec("Instagram carousel video", 3, 60, 300 * 1024 * 1024, min_fps=23, min_aspect=0.8,
                              max_aspect=1.91, faststart=True)
# Facebook Page video: Meta, "Uploading Videos with the Graph API" (graph-api/video-uploads): resumable upload of
# up to 10 GB and 4 hours; "the aspect ratio of the video must be between 9x16 and 16x9".
FB_PAGE_VIDEO = VideoSpec("Facebook Page video", 1, 4 * 3600, 10 * 1024 ** 3, max_width=4096,
                          min_aspect=9 / 16, max_aspect=16 / 9)
# Facebook Reels: Meta, Video API > "Reels Publishing API" guide (checked 2026): 9x16 only, at least 540x960,
# 24-60 fps, 3-90 s, H.264/H.265 + AAC. No size limit is stated; the sandbox takes the Page video's.
FB_REELS = VideoSpec("Facebook Reels", 3, 90, 10 * 1024 ** 3, min_width=540, min_height=960, min_fps=24,
                     min_aspect=9 / 16, max_aspect=9 / 16)
# X video: docs.x.com, Media best practices / media upload (checked 2026): H.264 High profile (Main and Baseline
# also taken), AAC LC, <= 1280x1024, >= 32x32, aspect 1:3 to 3:1, <= 60 fps, 0.5-140 s, <= 512 MB.
X_VIDEO = VideoSpec("X video", 0.5, 140, 512 * 1024 * 1024, video_codecs=("h264",),
                    video_profiles=("High", "Main", "Baseline", "Constrained Baseline"), audio_profiles=("LC",),
                    min_width=32, min_height=32, max_width=1280, max_height=1024, max_fps=60, min_aspect=1 / 3,
                    max_aspect=3.0)
# X animated GIF (media_category tweet_gif): same document, <= 15 MB, <= 1280x1080.
X_GIF_BYTES = 15 * 1024 * 1024


@dataclass(frozen=True)
class VideoFacts:
    """What the sandbox read of a received video."""

    container: str            # MP4, MOV or GIF
    video_codec: str
    video_profile: str | None
    width: int
    height: int
    fps: float
    duration: float
    audio_codec: str | None
    audio_profile: str | None
    audio_rate: int | None
    faststart: bool
    bytes: int
    sha256: str

    def info(self) -> ImageInfo:
        """As the sandbox records media (shown by GET /_sandbox/posts)."""
        return ImageInfo(self.sha256, self.width, self.height, self.container, self.bytes, False,
                         duration=round(self.duration, 3), video_codec=self.video_codec)


class Unreadable(Exception):
    """The bytes are no video the platform can read."""


def _top_atoms(data: bytes) -> list[bytes]:
    """The ISO-BMFF top-level box types in order (ftyp, moov, mdat...)."""
    found, at = [], 0
    while at + 8 <= len(data) and len(found) < 64:
        size, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        if size == 1 and at + 16 <= len(data):
            size = int.from_bytes(data[at + 8:at + 16], "big")
        found.append(kind)
        if size < 8:
            break
        at += size
    return found


def probe(data: bytes) -> VideoFacts:
    """Codec, profile, size, frame rate, duration, audio and moov position of `data`; Unreadable otherwise."""
    import av

    atoms = _top_atoms(data)
    gif = data[:6] in (b"GIF87a", b"GIF89a")
    if not gif and (not atoms or atoms[0] != b"ftyp"):
        raise Unreadable("the file is not MP4/MOV (no ftyp box at its start)")
    try:
        with av.open(io.BytesIO(data)) as box:
            if not box.streams.video:
                raise Unreadable("the file has no video stream")
            video = box.streams.video[0]
            audio = box.streams.audio[0] if box.streams.audio else None
            duration = (box.duration / av.time_base if box.duration
                        else float((video.duration or 0) * (video.time_base or 0)))
            rate = video.average_rate or video.guessed_rate
            facts = VideoFacts(
                "GIF" if gif else ("MOV" if data[8:12] == b"qt  " else "MP4"), video.codec_context.name,
                video.codec_context.profile, video.codec_context.width, video.codec_context.height,
                float(rate) if rate else 0.0, duration, audio.codec_context.name if audio else None,
                audio.codec_context.profile if audio else None, audio.codec_context.sample_rate if audio else None,
                gif or (b"moov" in atoms and b"mdat" in atoms and atoms.index(b"moov") < atoms.index(b"mdat")),
                len(data), hashlib.sha256(data).hexdigest())
    except av.FFmpegError as exc:
        raise Unreadable(f"the video cannot be decoded ({type(exc).__name__})") from exc
    return facts


def problems(facts: VideoFacts, spec: VideoSpec) -> list[str]:
    """Everything about the video that `spec` refuses, in the platform's terms; [] when it conforms."""
    found = []
    if facts.video_codec not in spec.video_codecs:
        found.append(f"video codec {facts.video_codec} (allowed: {', '.join(spec.video_codecs)})")
    if spec.video_profiles and facts.video_profile not in spec.video_profiles:
        found.append(f"video profile {facts.video_profile} (allowed: {', '.join(spec.video_profiles)})")
    if facts.audio_codec and facts.audio_codec not in spec.audio_codecs:
        found.append(f"audio codec {facts.audio_codec} (allowed: {', '.join(spec.audio_codecs)})")
    if facts.audio_codec and spec.audio_profiles and facts.audio_profile not in spec.audio_profiles:
        found.append(f"audio profile {facts.audio_profile} (allowed: {', '.join(spec.audio_profiles)})")
    if facts.audio_rate and facts.audio_rate > spec.max_audio_rate:
        found.append(f"audio sample rate {facts.audio_rate} Hz (max {spec.max_audio_rate})")
    if not spec.min_seconds <= facts.duration <= spec.max_seconds:
        found.append(f"duration {facts.duration:.2f} s (allowed {spec.min_seconds:g}-{spec.max_seconds:g} s)")
    if facts.bytes > spec.max_bytes:
        found.append(f"size {facts.bytes} bytes (max {spec.max_bytes})")
    if not spec.min_width <= facts.width <= spec.max_width or facts.height < spec.min_height or (
            spec.max_height and facts.height > spec.max_height):
        found.append(f"resolution {facts.width}x{facts.height} (allowed {spec.min_width}x{spec.min_height} to "
                     f"{spec.max_width}x{spec.max_height or 'any'})")
    if (spec.min_fps and facts.fps < spec.min_fps - 0.01) or (spec.max_fps and facts.fps > spec.max_fps + 0.01):
        found.append(f"frame rate {facts.fps:.2f} fps (allowed {spec.min_fps or 0:g}-{spec.max_fps:g})")
    aspect = facts.width / facts.height if facts.height else 0.0
    if (spec.min_aspect and aspect < spec.min_aspect - 1e-3) or (spec.max_aspect and aspect > spec.max_aspect + 1e-3):
        found.append(f"aspect ratio {aspect:.3f} (allowed {spec.min_aspect or 0:.3f}-{spec.max_aspect or 0:.3f})")
    if spec.faststart and not facts.faststart:
        found.append("the moov atom is not at the front of the file (re-mux with faststart)")
    return found


def check(data: bytes, spec: VideoSpec) -> tuple[VideoFacts | None, list[str]]:
    """Probe and judge: (facts, problems); facts None when the bytes cannot be read as video."""
    try:
        facts = probe(data)
    except Unreadable as exc:
        return None, [str(exc)]
    return facts, problems(facts, spec)


def first_frame_jpeg(data: bytes) -> bytes:
    """The video's first frame as a JPEG (what a platform shows as its thumbnail)."""
    import av

    with av.open(io.BytesIO(data)) as box:
        picture = next(box.decode(video=0)).to_image()
    out = io.BytesIO()
    picture.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()
