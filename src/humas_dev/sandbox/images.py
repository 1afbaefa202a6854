"""Reading images the way the platforms do: download by URL, then look at the bytes, never the name."""
from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass

import requests
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from humas.profiles import Placement

DOWNLOAD_TIMEOUT = 10.0
MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp",
              "BMP": "image/bmp", "TIFF": "image/tiff", "MP4": "video/mp4", "MOV": "video/quicktime"}


@dataclass(frozen=True)
class ImageInfo:
    """What the sandbox records of a received image or video (shown by GET /_sandbox/posts)."""

    sha256: str
    width: int
    height: int
    format: str
    bytes: int
    exif_gps: bool
    duration: float | None = None     # videos and animated GIFs received as video (humas_dev.sandbox.videos)
    video_codec: str | None = None

    @property
    def aspect(self) -> float:
        return self.width / self.height

    @property
    def mime_type(self) -> str:
        return MIME_TYPES.get(self.format, "application/octet-stream")

    def as_dict(self) -> dict[str, object]:
        """Every field; the video-only ones only for a video."""
        return {k: v for k, v in asdict(self).items() if v is not None or k not in ("duration", "video_codec")}


class DownloadError(Exception):
    """The image URL could not be fetched (or was larger than `limit`)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def inspect(data: bytes) -> ImageInfo | None:
    """Format, size and GPS presence of an image, read from its bytes; None if the bytes are no image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            has_gps = bool(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))
            fmt = image.format or "UNKNOWN"
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return ImageInfo(hashlib.sha256(data).hexdigest(), width, height, fmt, len(data), has_gps)


def inverted(data: bytes, fmt: str) -> bytes:
    """The picture with every colour inverted, saved in `fmt` (the sandbox's `swap_media` fault)."""
    with Image.open(io.BytesIO(data)) as image:
        out = io.BytesIO()
        ImageOps.invert(image.convert("RGB")).save(out, fmt if fmt in ("JPEG", "PNG", "WEBP") else "PNG")
    return out.getvalue()


def download(url: str, limit: int) -> bytes:
    """Fetch `url` as the platform would, reading at most `limit` bytes; raise DownloadError otherwise."""
    if not url.startswith(("http://", "https://")):
        raise DownloadError(f"not an http(s) URL: {url[:80]!r}")
    try:
        with requests.get(url, timeout=DOWNLOAD_TIMEOUT, stream=True) as response:
            if response.status_code != 200:
                raise DownloadError(f"the URL answered HTTP {response.status_code}")
            data = response.raw.read(limit + 1, decode_content=True)
    except requests.RequestException as exc:
        raise DownloadError(f"the URL could not be fetched ({type(exc).__name__})") from exc
    if len(data) > limit:
        raise DownloadError(f"the file is larger than {limit} bytes", too_large=True)
    return data


def aspect_problem(info: ImageInfo, placement: Placement) -> str | None:
    """Why the image's width/height breaks the placement's aspect range, or None."""
    if placement.min_aspect is not None and info.aspect < placement.min_aspect - 1e-9:
        return f"aspect ratio {info.aspect:.3f} is below the minimum {placement.min_aspect}"
    if placement.max_aspect is not None and info.aspect > placement.max_aspect + 1e-9:
        return f"aspect ratio {info.aspect:.3f} is above the maximum {placement.max_aspect}"
    return None


def width_problem(info: ImageInfo, placement: Placement) -> str | None:
    """Why the image's width is outside the placement's range, or None."""
    if not placement.min_width <= info.width <= placement.max_width:
        return f"width {info.width}px is outside {placement.min_width}..{placement.max_width}px"
    return None
