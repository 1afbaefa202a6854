"""A corpus of design assets the asset tests generate themselves: good, awkward and hostile files.

Everything is built in memory from Pillow, zlib and hand-written ICC profiles (no binary fixtures):
camera-like photos with EXIF orientation and GPS, a CMYK JPEG carrying its own CMYK profile,
16-bit PNGs, animated GIFs, decompression bombs declared in PNG and JPEG headers, truncated and
corrupt files, and non-images named like images.
"""
from __future__ import annotations

import io
import random
import struct
import zlib
from functools import cache

from PIL import Image, ImageChops, ImageDraw, ImageFilter

D50 = (0.9642, 1.0, 0.8249)

# --- ICC profiles, written by hand (v2, the subset LittleCMS needs) ---------------------------------


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz: tuple[float, float, float]) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15f16(v) for v in xyz)


def _desc_tag(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\x00"
    return b"desc" + bytes(4) + struct.pack(">I", len(ascii_)) + ascii_ + bytes(4) + bytes(4) + bytes(2) + bytes(1) + bytes(67)


def _text_tag(text: str) -> bytes:
    return b"text" + bytes(4) + text.encode("ascii") + b"\x00"


def _curve_tag(gamma: float) -> bytes:
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256))


def _profile(device_class: bytes, space: bytes, pcs: bytes, tags: dict[bytes, bytes]) -> bytes:
    """Assemble an ICC v2 profile: 128-byte header, tag table, 4-byte aligned tag data."""
    table, body = b"", b""
    offset = 128 + 4 + 12 * len(tags)
    for signature, data in tags.items():
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + device_class + space + pcs
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + bytes(4) + bytes(4) + bytes(4) + bytes(4)
              + bytes(8) + bytes(4) + b"".join(_s15f16(v) for v in D50) + bytes(4) + bytes(44))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def _srgb_to_lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c / 255) for c in rgb)
    x = (0.4360747 * r + 0.3850649 * g + 0.1430804 * b) / D50[0]  # sRGB -> XYZ (D50-adapted)
    y = (0.2225045 * r + 0.7168786 * g + 0.0606169 * b) / D50[1]
    z = (0.0139322 * r + 0.0971045 * g + 0.7141733 * b) / D50[2]

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


# Ink colours of the test press (sRGB): a cyan much duller than Pillow's naive (0, 255, 255).
INKS = {"c": (0, 150, 215), "m": (215, 25, 120), "y": (250, 225, 20), "k": (40, 35, 35)}


def _cmyk_clut() -> bytes:
    """A 2-point-per-channel CMYK -> Lab grid: inks multiply like filters over white paper."""
    entries = b""
    for c in (0, 1):
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    rgb = [255.0, 255.0, 255.0]
                    for present, ink in ((c, "c"), (m, "m"), (y, "y"), (k, "k")):
                        if present:
                            rgb = [v * i / 255 for v, i in zip(rgb, INKS[ink])]
                    lab = _srgb_to_lab(tuple(rgb))
                    entries += bytes([round(lab[0] * 255 / 100), round(lab[1] + 128), round(lab[2] + 128)])
    return entries


def _lut8(clut: bytes, inputs: int, outputs: int) -> bytes:
    identity = b"".join(_s15f16(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    ramp = bytes(range(256))
    return b"mft1" + bytes(4) + bytes([inputs, outputs, 2, 0]) + identity + ramp * inputs + clut + ramp * outputs


@cache
def cmyk_profile() -> bytes:
    """A CMYK input profile (A2B0 lut8 to Lab) whose cyan is INKS['c'], not Pillow's naive formula."""
    return _profile(b"scnr", b"CMYK", b"Lab ", {
        b"desc": _desc_tag("Humas test press CMYK"),
        b"wtpt": _xyz_tag(D50),
        b"cprt": _text_tag("public domain"),
        b"A2B0": _lut8(_cmyk_clut(), 4, 3),
    })


@cache
def wide_rgb_profile() -> bytes:
    """A matrix/TRC RGB profile with Adobe RGB (1998) primaries: not sRGB, so it must be converted."""
    gamma = _curve_tag(563 / 256)
    return _profile(b"mntr", b"RGB ", b"XYZ ", {
        b"desc": _desc_tag("Humas test wide RGB"),
        b"wtpt": _xyz_tag(D50),
        b"cprt": _text_tag("public domain"),
        b"rXYZ": _xyz_tag((0.60974, 0.31111, 0.01947)),
        b"gXYZ": _xyz_tag((0.20528, 0.62567, 0.06087)),
        b"bXYZ": _xyz_tag((0.14919, 0.06322, 0.74457)),
        b"rTRC": gamma, b"gTRC": gamma, b"bTRC": gamma,
    })


# --- pictures ---------------------------------------------------------------------------------------


def scene(size: tuple[int, int], seed: int = 1, noise: float = 6.0) -> Image.Image:
    """A camera-like RGB picture: smooth light, shapes with edges, and sensor-like grain."""
    rng = random.Random(seed)
    small = (max(8, size[0] // 16), max(8, size[1] // 16))
    base = Image.new("RGB", small, tuple(rng.randrange(60, 200) for _ in range(3)))
    draw = ImageDraw.Draw(base)
    for _ in range(12):
        x, y = rng.randrange(small[0]), rng.randrange(small[1])
        r = rng.randrange(2, max(3, min(small) // 2))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    picture = base.filter(ImageFilter.GaussianBlur(1)).resize(size, Image.Resampling.BICUBIC)
    sharp = ImageDraw.Draw(picture)
    for _ in range(6):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        sharp.rectangle((x, y, x + size[0] // 10, y + size[1] // 12), fill=tuple(rng.randrange(256) for _ in range(3)))
    if noise:
        grain = Image.merge("RGB", [Image.effect_noise(size, noise) for _ in range(3)])
        picture = ImageChops.add(picture, grain, scale=1.0, offset=-128)  # picture + grain - 128
    return picture


def jpeg(image: Image.Image, quality: int = 90, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, **params)
    return buf.getvalue()


def png(image: Image.Image, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", **params)
    return buf.getvalue()


def gps_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: make, model, orientation and the GPS position of the office."""
    exif = Image.Exif()
    exif[0x010F] = "HumasPhone"
    exif[0x0110] = "Model 12"
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "S", 2: (6.0, 58.0, 30.0), 3: "E", 4: (110.0, 25.0, 10.0)})
    return exif


def rotated_photo_with_gps() -> bytes:
    """A 600x400 photo stored sideways (EXIF orientation 6) with a red block in its stored top-left corner."""
    image = scene((600, 400), seed=3, noise=0)
    ImageDraw.Draw(image).rectangle((0, 0, 119, 79), fill=(255, 0, 0))
    return jpeg(image, 92, exif=gps_exif(orientation=6))


@cache
def camera_photo(size: tuple[int, int] = (1800, 1200), seed: int = 1) -> bytes:
    return jpeg(scene(size, seed=seed), 90, exif=gps_exif())


def cmyk_jpeg_with_icc(with_profile: bool = True) -> bytes:
    """A print export: CMYK, left half pure cyan, right half pure magenta, with the test press profile."""
    image = Image.new("CMYK", (800, 800), (255, 0, 0, 0))
    image.paste((0, 255, 0, 0), (400, 0, 800, 800))
    params = {"icc_profile": cmyk_profile()} if with_profile else {}
    return jpeg(image, 95, **params)


def wide_rgb_jpeg() -> bytes:
    image = Image.new("RGB", (1200, 1000), (100, 150, 200))
    return jpeg(image, 95, icc_profile=wide_rgb_profile())


def png16_grey() -> bytes:
    """16-bit greyscale PNG: a flat 50% grey (32768)."""
    image = Image.new("I;16", (1200, 1000), 32768)
    return png(image)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png16_rgb(size: tuple[int, int] = (1200, 1000), value: tuple[int, int, int] = (65535, 32768, 0)) -> bytes:
    """A 48-bit RGB PNG (Pillow cannot write one, so it is assembled here)."""
    width, height = size
    row = b"\x00" + struct.pack(">3H", *value) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(row * height))
            + _chunk(b"IEND", b""))


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header declares `width` x `height` pixels (10 gigapixels by default) over a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + _chunk(b"IEND", b"")


@cache
def png_real_bomb(edge: int = 12_000) -> bytes:
    """A genuine bomb: `edge` x `edge` black greyscale pixels (144 MP, over our 100 MP limit) in a few hundred KB."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (edge + 1)
    idat = b"".join(packer.compress(row) for _ in range(edge)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", edge, edge, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def jpeg_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A small valid JPEG whose SOF0 header is patched to declare `width` x `height` pixels."""
    data = bytearray(jpeg(Image.new("RGB", (16, 16), (200, 50, 50))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def truncated_jpeg() -> bytes:
    data = camera_photo((1200, 800), seed=5)
    return data[: len(data) * 6 // 10]


def corrupt_png() -> bytes:
    """A PNG whose compressed pixel data was overwritten in the middle (CRC left stale)."""
    data = bytearray(png(scene((600, 400), seed=6)))
    start = data.index(b"IDAT") + 4
    data[start + 100:start + 400] = bytes(random.Random(6).randrange(256) for _ in range(300))
    return bytes(data)


def pdf_bytes() -> bytes:
    return (b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] "
            b"/Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def exe_bytes() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48) + b"This program cannot be run in DOS mode."


def heic_bytes() -> bytes:
    return struct.pack(">I", 24) + b"ftypheic" + bytes(4) + b"mif1heic" + bytes(64)


def animated_gif(frames: int = 3) -> bytes:
    """An animated GIF whose first frame is red, then green, then blue."""
    colours = [(255, 0, 0), (0, 160, 0), (0, 0, 255)]
    images = [Image.new("RGB", (800, 800), colours[i % 3]) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=200, loop=0)
    return buf.getvalue()


def transparent_palette_png() -> bytes:
    """A palette PNG: a red disc (index 1) on a transparent background (index 0)."""
    image = Image.new("P", (1200, 1200), 0)
    image.putpalette([0, 0, 0, 220, 0, 0] + [0, 0, 0] * 254)
    ImageDraw.Draw(image).ellipse((300, 300, 900, 900), fill=1)
    return png(image, transparency=0)


@cache
def noise_jpeg(size: tuple[int, int] = (2600, 2200)) -> bytes:
    """Pure colour noise at quality 98: a photo far over every platform's byte limit (~17 MB)."""
    noise = Image.merge("RGB", [Image.effect_noise(size, 90) for _ in range(3)])
    return jpeg(noise, 98, subsampling=0)
