"""What a file really is, from its first bytes (never from its name), and what its name claims."""
from __future__ import annotations

import os
from dataclasses import dataclass

from humas.assets.codes import Text


@dataclass(frozen=True)
class Kind:
    """A kind of file the checks refuse; `image` is True for image formats that cannot be processed."""

    key: str
    label: Text
    image: bool = False


KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("pdf", Text("dokumen PDF", "a PDF document")),
    Kind("exe", Text("program Windows (.exe)", "a Windows executable")),
    Kind("elf", Text("program Linux (ELF)", "a Linux executable")),
    Kind("macho", Text("program macOS", "a macOS executable")),
    Kind("zip", Text("arsip ZIP atau dokumen Office", "a ZIP archive or Office document")),
    Kind("rar", Text("arsip RAR", "a RAR archive")),
    Kind("7z", Text("arsip 7-Zip", "a 7-Zip archive")),
    Kind("gzip", Text("arsip GZIP", "a gzip archive")),
    Kind("ole", Text("dokumen Office lama (.doc/.xls/.ppt)", "a legacy Office document")),
    Kind("html", Text("halaman web (HTML)", "an HTML page")),
    Kind("text", Text("berkas teks", "a text file")),
    Kind("video", Text("video", "a video")),
    Kind("audio", Text("berkas audio", "an audio file")),
    Kind("unknown", Text("data yang tidak dikenal", "unrecognised data")),
    Kind("heic", Text("foto HEIC/HEIF (format kamera iPhone)", "a HEIC/HEIF photo (iPhone camera format)"), True),
    Kind("psd", Text("berkas Photoshop (PSD)", "a Photoshop document (PSD)"), True),
    Kind("svg", Text("gambar vektor SVG", "an SVG vector drawing"), True),
    Kind("eps", Text("berkas PostScript/EPS", "a PostScript/EPS file"), True),
    Kind("raw", Text("foto RAW kamera", "a camera RAW photo"), True),
)}

ADVICE: dict[str, Text] = {
    "heic": Text("Ubah ke JPEG (di iPhone: Pengaturan > Kamera > Format > Paling Kompatibel), lalu unggah lagi.",
                 "Convert it to JPEG (on iPhone: Settings > Camera > Formats > Most Compatible) and upload again."),
    "raw": Text("Olah dan ekspor sebagai JPEG dari aplikasi foto, lalu unggah lagi.",
                "Develop it and export a JPEG from the photo tool, then upload again."),
}
DEFAULT_ADVICE = Text("Ekspor sebagai JPEG (foto) atau PNG (desain grafis), lalu unggah lagi.",
                      "Export it as JPEG (photos) or PNG (graphics) and upload again.")

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "pdf"), (b"MZ", "exe"), (b"\x7fELF", "elf"),
    (b"\xfe\xed\xfa\xce", "macho"), (b"\xfe\xed\xfa\xcf", "macho"), (b"\xce\xfa\xed\xfe", "macho"),
    (b"\xcf\xfa\xed\xfe", "macho"), (b"\xca\xfe\xba\xbe", "macho"),
    (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"Rar!\x1a\x07", "rar"), (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (b"8BPS", "psd"), (b"%!PS", "eps"), (b"\xc5\xd0\xd3\xc6", "eps"),
    (b"\x1a\x45\xdf\xa3", "video"), (b"ID3", "audio"), (b"OggS", "audio"), (b"fLaC", "audio"),
)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}

IMAGE_EXTENSIONS: dict[str, tuple[str, ...]] = {
    ".jpg": ("JPEG", "MPO"), ".jpeg": ("JPEG", "MPO"), ".jpe": ("JPEG", "MPO"), ".jfif": ("JPEG", "MPO"),
    ".png": ("PNG",), ".gif": ("GIF",), ".webp": ("WEBP",), ".tif": ("TIFF",), ".tiff": ("TIFF",),
    ".bmp": ("BMP",), ".avif": ("AVIF",), ".heic": ("HEIC",), ".heif": ("HEIC",),
}
VIDEO_EXTENSIONS: dict[str, str] = {".mp4": "MP4", ".m4v": "MP4", ".mov": "MOV", ".qt": "MOV", ".gif": "GIF"}
RAW_EXTENSIONS = frozenset({".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".rw2", ".raf", ".srw", ".pef"})
_SUGGESTED = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "TIFF": ".tif",
              "BMP": ".bmp", "AVIF": ".avif"}


def extension(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def claimed_formats(name: str) -> tuple[str, ...] | None:
    """The image formats a file name promises (".jpg" -> JPEG), or None when it promises no image."""
    ext = extension(name)
    if ext in RAW_EXTENSIONS:
        return ("RAW",)
    return IMAGE_EXTENSIONS.get(ext)


def suggested_extension(fmt: str) -> str:
    return _SUGGESTED.get(fmt, "." + fmt.lower())


def iso_media(data: bytes) -> str | None:
    """HEIC/AVIF/MP4 all start with an ISO-BMFF `ftyp` box; tell them apart by its brands."""
    if data[4:8] != b"ftyp":
        return None
    size = int.from_bytes(data[0:4], "big")
    brands = {data[i:i + 4] for i in range(8, min(max(size, 16), 64, len(data)) - 3, 4)}
    if brands & _AVIF_BRANDS:
        return None  # Pillow reads AVIF itself
    return "heic" if brands & _HEIF_BRANDS else "video"


def _riff(data: bytes) -> str | None:
    if data[:4] != b"RIFF":
        return None
    return {b"AVI ": "video", b"WAVE": "audio"}.get(data[8:12])


def _textual(data: bytes) -> str | None:
    head = data[:1024]
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # only a character cut at the end of the sample is forgiven
            return None
        text = head[:exc.start].decode("utf-8")
    lowered = text.lstrip("\ufeff \t\r\n").lower()
    if "<svg" in lowered:
        return "svg"
    if lowered.startswith(("<!doctype html", "<html")):
        return "html"
    return "text"


def sniff(data: bytes, name: str = "") -> Kind | None:
    """The kind of a file whose signature says it is no image Pillow should try, or None to let Pillow look."""
    if extension(name) in RAW_EXTENSIONS:
        return KINDS["raw"]
    for magic, key in _MAGIC:
        if data.startswith(magic):
            return KINDS[key]
    key = iso_media(data) or _riff(data)
    return KINDS[key] if key else None


def describe_unreadable(data: bytes) -> Kind:
    """What a file no image reader recognised looks like: SVG, HTML, text, or unknown data."""
    return KINDS[_textual(data) or "unknown"]
