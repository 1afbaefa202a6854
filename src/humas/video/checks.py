"""A probed video against one placement's `video` limits (include/platforms.yaml, humas.profiles.VideoLimits).

Errors only for what no rendition can fix: too short or too long, fewer pixels than the placement needs, an aspect
ratio so far off that the picture would fill less than half the frame, a rendition at the placement's target bit
rate that would not fit its byte limit, a placement that takes no video. Everything a rendition does anyway
(H.264 High + AAC-LC, constant frame rate, upright, index first, scaled into the target box, target bit rate)
is info, or a warning when staff should look at the result (aspect changed, heavy recompression).
"""
from __future__ import annotations

from humas.assets.codes import (Text, aspect_text, bitrate_text, finding, number_text, range_text, seconds_text,
                                size_text)
from humas.assets.limits import DEFAULT_LIMITS
from humas.assets.model import Finding
from humas.profiles import ChannelProfile, Placement, VideoLimits, load_profiles
from humas.video.probe import VideoInfo, extension_finding

ASPECT_TOLERANCE = 0.005       # relative: 1080x1920 and 1078x1916 are both 9:16
OVERHEAD = 1.02                # container bytes over the streams' bit rates
_CODECS = {"h264": "H.264", "hevc": "HEVC (H.265)", "mpeg4": "MPEG-4 Part 2", "prores": "ProRes", "vp9": "VP9",
           "av1": "AV1", "mjpeg": "Motion JPEG"}


def asset_findings(name: str, info: VideoInfo) -> list[Finding]:
    """What is true of the video whatever the channel (once per video): a misleading extension, and what every
    rendition fixes (rotation, variable frame rate, index at the end) or staff should know (no sound)."""
    found = [f for f in (extension_finding(name, info),) if f]
    if info.rotation:
        found.append(finding("VIDEO_ROTATION_APPLIED", asset=name, rotation=info.rotation))
    if info.vfr and not info.is_gif:
        found.append(finding("VIDEO_VFR_CONVERTED", asset=name))
    if not info.faststart:
        found.append(finding("VIDEO_FASTSTART_APPLIED", asset=name))
    if info.audio_codec is None and not info.is_gif:
        found.append(finding("VIDEO_NO_AUDIO", asset=name))
    return found


def gif_kept(info: VideoInfo, placement: Placement) -> bool:
    """An animated GIF is posted as the GIF itself where the placement takes GIFs (X post_image), else as MP4."""
    return info.is_gif and placement.max_gif_bytes is not None


def video_placements(profile: ChannelProfile) -> list[str]:
    return [name for name, p in profile.placements.items() if p.video is not None]


def video_findings(name: str, info: VideoInfo, channel: str, label: str, placement: Placement, *,
                   profile: ChannelProfile | None = None) -> list[Finding]:
    """The original `info` against `placement` of `channel` (`label` is how staff call it). `profile` (the
    channel's, read from platforms.yaml when None) names the placements that do take video."""
    common = {"asset": name, "channel": channel, "channel_name": label}
    if gif_kept(info, placement):
        return _gif_findings(info, placement, profile or load_profiles()[channel], common)
    limits = placement.video
    if limits is None:
        names = video_placements(profile or load_profiles()[channel])
        return [finding("VIDEO_PLACEMENT_NO_VIDEO", placements=", ".join(names) or "-", **common)]
    found = _duration_findings(info, limits, common) + _picture_findings(info, limits, common)
    found += _bytes_findings(info, limits, common)
    return found + _conversion_findings(info, limits, common)


def _gif_findings(info: VideoInfo, placement: Placement, profile: ChannelProfile, common: dict) -> list[Finding]:
    if info.bytes <= placement.max_gif_bytes:
        return []
    return [finding("VIDEO_GIF_TOO_LARGE", size=size_text(info.bytes), limit=size_text(placement.max_gif_bytes),
                    video_placement=profile.default_video_placement or ", ".join(video_placements(profile)),
                    **common)]


def _duration_findings(info: VideoInfo, limits: VideoLimits, common: dict) -> list[Finding]:
    duration = seconds_text(info.duration)
    if info.duration < limits.min_seconds and info.is_gif:   # the rendition plays the animation again
        return [finding("VIDEO_GIF_LOOPED", duration=duration, limit=seconds_text(limits.min_seconds), **common)]
    if info.duration < limits.min_seconds:
        return [finding("VIDEO_TOO_SHORT", duration=duration, limit=seconds_text(limits.min_seconds), **common)]
    if info.duration > limits.max_seconds:
        return [finding("VIDEO_TOO_LONG", duration=duration, limit=seconds_text(limits.max_seconds), **common)]
    return []


def _fitted_aspect(aspect: float, limits: VideoLimits) -> float:
    """The ratio a rendition gets: the source's, clamped into the placement's range."""
    if limits.min_aspect is not None and aspect < limits.min_aspect * (1 - ASPECT_TOLERANCE):
        return limits.min_aspect
    if limits.max_aspect is not None and aspect > limits.max_aspect * (1 + ASPECT_TOLERANCE):
        return limits.max_aspect
    return aspect


def _picture_findings(info: VideoInfo, limits: VideoLimits, common: dict) -> list[Finding]:
    if info.width < limits.min_width or info.height < limits.min_height:
        return [finding("VIDEO_TOO_SMALL", width=info.width, height=info.height, min_width=limits.min_width,
                        min_height=limits.min_height, target=f"{limits.target_width}×{limits.target_height}",
                        **common)]
    target = _fitted_aspect(info.aspect, limits)
    if target == info.aspect:
        return []
    share = min(info.aspect, target) / max(info.aspect, target)
    aspect = aspect_text(info.aspect)
    if share < DEFAULT_LIMITS.pad_min_fill:
        suggest = aspect_text(limits.recommended_aspect or target)
        return [finding("VIDEO_ASPECT_OUT_OF_RANGE", aspect=aspect, range=range_text(limits.min_aspect,
                        limits.max_aspect), percent=round(share * 100), suggest=suggest, **common)]
    return [finding("VIDEO_ASPECT_ADJUSTED", aspect=aspect, target=aspect_text(target), **common)]


# A rendition's video bit rate may be lowered to fit a byte limit down to this share of the target, no further.
MIN_BITRATE_SHARE = 0.4


def rendition_bit_rate(info: VideoInfo, limits: VideoLimits) -> int:
    """What a rendition carries per second: the target video bit rate, plus AAC when the video has sound."""
    return limits.target_bitrate + (limits.target_audio_bitrate if info.audio_codec else 0)


def _bytes_findings(info: VideoInfo, limits: VideoLimits, common: dict) -> list[Finding]:
    """A long video's rendition is made at a lower bit rate to stay under the byte limit (the renditions do it);
    only below MIN_BITRATE_SHARE of the target would it look too poor, and then the video must be cut."""
    rate = rendition_bit_rate(info, limits)
    estimate = info.duration * rate / 8 * OVERHEAD
    if estimate > limits.max_bytes:
        audio = rate - limits.target_bitrate
        lowered = limits.max_bytes * 8 / (info.duration * OVERHEAD) - audio
        if lowered >= limits.target_bitrate * MIN_BITRATE_SHARE:
            return [finding("VIDEO_BITRATE_LOWERED", duration=seconds_text(info.duration),
                            bitrate=bitrate_text(int(lowered)), limit=size_text(limits.max_bytes), **common)]
        floor = limits.target_bitrate * MIN_BITRATE_SHARE + audio
        fits = limits.max_bytes * 8 / (floor * OVERHEAD)
        return [finding("VIDEO_RENDITION_TOO_LARGE", duration=seconds_text(info.duration),
                        bitrate=bitrate_text(int(floor)), size=size_text(round(info.duration * floor / 8 * OVERHEAD)),
                        limit=size_text(limits.max_bytes), max_duration=seconds_text(int(fits)), **common)]
    if info.bytes > limits.max_bytes:
        return [finding("VIDEO_FILE_TOO_LARGE", size=size_text(info.bytes), limit=size_text(limits.max_bytes),
                        **common)]
    return []


def _codec_text(info: VideoInfo) -> Text:
    if info.is_gif:
        return Text("animasi GIF", "an animated GIF")
    name = _CODECS.get(info.video_codec, info.video_codec)
    text = f"{name} {info.video_profile}" if info.video_profile else name
    return Text(f"video {text} ({info.container})", f"{text} video ({info.container})")


def _video_accepted(info: VideoInfo, limits: VideoLimits) -> bool:
    return (info.container in limits.containers and info.video_codec in limits.video_codecs
            and (limits.video_profiles is None or info.video_profile in limits.video_profiles))


def _audio_problems(info: VideoInfo, limits: VideoLimits) -> list[str]:
    if info.audio_codec is None:
        return []
    problems = []
    if info.audio_codec not in limits.audio_codecs:
        problems.append(f"audio codec {info.audio_codec} is not one of {', '.join(limits.audio_codecs)}")
    if limits.audio_profiles is not None and info.audio_profile not in limits.audio_profiles:
        problems.append(f"audio profile {info.audio_profile} is not one of {', '.join(limits.audio_profiles)}")
    if limits.max_audio_rate is not None and (info.audio_rate or 0) > limits.max_audio_rate:
        problems.append(f"audio at {info.audio_rate} Hz is over {limits.max_audio_rate} Hz")
    if limits.max_audio_channels is not None and (info.audio_channels or 0) > limits.max_audio_channels:
        problems.append(f"{info.audio_channels} audio channels is over {limits.max_audio_channels}")
    return problems


def _audio_text(rate: int | None, channels: int | None, codec: str = "", profile: str | None = None) -> Text:
    khz = number_text((rate or 0) / 1000)
    name = " ".join(p for p in (codec.upper(), profile or "") if p)
    return Text(f"{name} {khz.id} kHz {channels} kanal".strip(), f"{name} {khz.en} kHz {channels} channels".strip())


def _fps_target(fps: float, limits: VideoLimits) -> float | None:
    if limits.min_fps is not None and fps < limits.min_fps:
        return limits.min_fps
    if limits.max_fps is not None and fps > limits.max_fps:
        return limits.max_fps
    return None


def _box(limits: VideoLimits) -> tuple[int, int]:
    """The box a rendition is scaled into: the target size, within the placement's maxima."""
    return (min(limits.target_width, limits.max_width),
            min(limits.target_height, limits.max_height or limits.target_height))


def _conversion_findings(info: VideoInfo, limits: VideoLimits, common: dict) -> list[Finding]:
    found = []
    if not _video_accepted(info, limits):
        found.append(finding("VIDEO_CODEC_CONVERTED", format=_codec_text(info), **common))
    if _audio_problems(info, limits):
        rate = min(info.audio_rate or 48000, limits.max_audio_rate or 48000)
        channels = min(info.audio_channels or 2, limits.max_audio_channels or 2)
        found.append(finding("VIDEO_AUDIO_CONVERTED", target=_audio_text(rate, channels),
                             audio=_audio_text(info.audio_rate, info.audio_channels, info.audio_codec,
                                               info.audio_profile), **common))
    target_fps = _fps_target(info.fps, limits)
    if target_fps is not None:
        found.append(finding("VIDEO_FPS_CONVERTED", fps=number_text(info.fps), target=number_text(target_fps),
                             range=Text(f"{limits.min_fps or 1:g}–{limits.max_fps or 120:g}",
                                        f"{limits.min_fps or 1:g}-{limits.max_fps or 120:g}"), **common))
    box = _box(limits)
    if info.width > box[0] or info.height > box[1]:
        found.append(finding("VIDEO_SCALED_DOWN", width=info.width, height=info.height,
                             box=f"{box[0]}×{box[1]}", **common))
    target_rate = rendition_bit_rate(info, limits)
    if info.bit_rate > target_rate * 1.1:
        found.append(finding("VIDEO_BITRATE_REDUCED", bitrate=bitrate_text(info.bit_rate),
                             target=bitrate_text(target_rate), **common))
    return found


# --- a made rendition: every limit, strictly ------------------------------------------------------------

def _range_problem(what: str, value: float, low: float | None, high: float | None, unit: str = "") -> str | None:
    if low is not None and value < low:
        return f"{what} {value:g}{unit} is below {low:g}{unit}"
    if high is not None and value > high:
        return f"{what} {value:g}{unit} is above {high:g}{unit}"
    return None


def rendition_video_problems(info: VideoInfo, placement: Placement) -> list[str]:
    """Why a made rendition (probed as `info`) would be refused by `placement` (English), or [] when it conforms."""
    if gif_kept(info, placement):
        return [] if info.bytes <= placement.max_gif_bytes else [f"GIF of {info.bytes} bytes is over "
                                                                  f"{placement.max_gif_bytes}"]
    limits = placement.video
    if limits is None:
        return [f"placement {placement.channel} {placement.name} takes no video"]
    problems = [] if _video_accepted(info, limits) else [
        f"{info.container} {info.video_codec} {info.video_profile} is not among {', '.join(limits.containers)} "
        f"{', '.join(limits.video_codecs)} {', '.join(limits.video_profiles or ())}".rstrip()]
    problems += _audio_problems(info, limits)
    low, high = limits.min_aspect, limits.max_aspect
    checks = (
        _range_problem("duration", round(info.duration, 3), limits.min_seconds, limits.max_seconds, " s"),
        _range_problem("size", info.bytes, None, limits.max_bytes, " bytes"),
        _range_problem("width", info.width, limits.min_width, limits.max_width, " px"),
        _range_problem("height", info.height, limits.min_height, limits.max_height, " px"),
        _range_problem("frame rate", round(info.fps, 2), limits.min_fps, limits.max_fps, " fps"),
        _range_problem("aspect", round(info.aspect, 4), low and low * (1 - ASPECT_TOLERANCE),
                       high and high * (1 + ASPECT_TOLERANCE)),
    )
    problems += [p for p in checks if p]
    flags = ((info.vfr, "variable frame rate"), (info.rotation != 0, f"turned {info.rotation} degrees"),
             (not info.faststart, "index (moov) after the media data"), (info.is_gif, "an animated GIF"))
    return problems + [text for bad, text in flags if bad]
