"""Colour, bit depth, alpha, frames and EXIF: converted where safe, every conversion reported."""
from __future__ import annotations

import io

from PIL import Image, ImageCms

from humas.assets import check_assets

import asset_corpus as corpus

CHANNELS = ["instagram", "facebook", "x"]


def _review(name: str, data: bytes, channels=CHANNELS):
    return check_assets("item", [(name, data)], channels, None)


def _pixel(rendition, xy) -> tuple[int, int, int]:
    return Image.open(io.BytesIO(rendition.data)).convert("RGB").getpixel(xy)


def _close(actual, expected, tolerance: int = 8) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


def _expected_through_profile(data: bytes, xy) -> tuple[int, int, int]:
    """What LittleCMS makes of the file's pixel through its own embedded profile (the colours must match this)."""
    image = Image.open(io.BytesIO(data))
    profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    srgb = ImageCms.createProfile("sRGB")
    converted = ImageCms.profileToProfile(image, profile, srgb, outputMode="RGB",
                                          renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                          flags=ImageCms.Flags.BLACKPOINTCOMPENSATION)
    return converted.getpixel(xy)


def test_cmyk_jpeg_is_converted_through_its_own_profile():
    data = corpus.cmyk_jpeg_with_icc()
    review = _review("cetak.jpg", data)

    converted = next(f for f in review.findings if f.code == "ASSET_CMYK_CONVERTED")
    assert converted.severity == "info" and "Humas test press CMYK" in converted.message_id
    cyan, magenta = _expected_through_profile(data, (100, 400)), _expected_through_profile(data, (700, 400))
    assert _close(cyan, corpus.INKS["c"], 12)  # the profile's cyan, not Pillow's naive (0, 255, 255)
    for rendition in review.renditions:
        assert _close(_pixel(rendition, (100, 400)), cyan)
        assert _close(_pixel(rendition, (rendition.width - 100, 400)), magenta)
        assert not _close(_pixel(rendition, (100, 400)), (0, 255, 255), 60)


def test_cmyk_jpeg_without_profile_warns_that_colours_may_shift():
    review = _review("cetak.jpg", corpus.cmyk_jpeg_with_icc(with_profile=False))

    warning = next(f for f in review.findings if f.code == "ASSET_CMYK_NO_PROFILE")
    assert warning.severity == "warning" and "sRGB" in warning.message_id
    assert review.ok and all(Image.open(io.BytesIO(r.data)).mode == "RGB" for r in review.renditions)


def test_wide_gamut_rgb_is_converted_to_srgb():
    data = corpus.wide_rgb_jpeg()
    review = _review("foto.jpg", data)

    assert "ASSET_PROFILE_CONVERTED" in {f.code for f in review.findings}
    expected = _expected_through_profile(data, (50, 50))
    assert not _close(expected, (100, 150, 200), 10)  # the conversion does move the numbers
    for rendition in review.renditions:
        assert _close(_pixel(rendition, (50, 50)), expected, 4)


def test_srgb_profile_is_left_alone():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = corpus.jpeg(Image.new("RGB", (1200, 1000), (100, 150, 200)), 95, icc_profile=srgb)
    review = _review("foto.jpg", data)

    assert review.findings == []
    assert _close(_pixel(review.renditions[0], (50, 50)), (100, 150, 200), 3)


def test_broken_profile_is_ignored_with_a_warning():
    data = corpus.jpeg(Image.new("RGB", (1200, 1000), (100, 150, 200)), 95, icc_profile=b"not a profile" * 20)
    review = _review("foto.jpg", data)

    assert "ASSET_PROFILE_INVALID" in {f.code for f in review.findings}
    assert review.ok


def test_16_bit_grey_png_is_scaled_not_clipped():
    review = _review("grafik.png", corpus.png16_grey())

    assert "ASSET_16BIT_REDUCED" in {f.code for f in review.findings}
    assert _close(_pixel(review.renditions[0], (10, 10)), (128, 128, 128), 3)


def test_16_bit_rgb_png_is_reduced_to_8_bits():
    review = _review("grafik.png", corpus.png16_rgb())

    reduced = next(f for f in review.findings if f.code == "ASSET_16BIT_REDUCED")
    assert "16 bit" in reduced.message_id
    assert _close(_pixel(review.renditions[0], (10, 10)), (255, 128, 0), 4)


def test_transparent_palette_png_is_flattened_on_white():
    review = _review("logo.png", corpus.transparent_palette_png())

    codes = {f.code for f in review.findings}
    assert {"ASSET_PALETTE_CONVERTED", "ASSET_TRANSPARENCY_FLATTENED"} <= codes
    rendition = review.renditions[0]
    assert _close(_pixel(rendition, (5, 5)), (255, 255, 255), 3)
    assert _close(_pixel(rendition, (rendition.width // 2, rendition.height // 2)), (220, 0, 0), 10)


def test_opaque_rgba_png_is_not_reported_as_transparent():
    data = corpus.png(Image.new("RGBA", (1200, 1000), (10, 20, 30, 255)))
    review = _review("grafik.png", data)

    assert "ASSET_TRANSPARENCY_FLATTENED" not in {f.code for f in review.findings}


def test_an_animated_gif_is_published_whole_as_a_video_not_as_its_first_frame():
    review = _review("animasi.gif", corpus.animated_gif(frames=3), channels=["facebook"])

    assert review.placements == {"facebook": "video"} and "ASSET_ANIMATED" not in {f.code for f in review.findings}
    [video] = review.renditions
    assert video.kind == "video" and video.content_type == "video/mp4" and video.duration >= 1.0


def test_multi_page_tiff_uses_the_first_page():
    buf = io.BytesIO()
    pages = [Image.new("RGB", (1200, 1000), colour) for colour in ((0, 0, 200), (200, 0, 0))]
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    review = _review("dokumen.tif", buf.getvalue(), channels=["facebook"])

    assert "ASSET_MULTI_FRAME" in {f.code for f in review.findings}
    assert _close(_pixel(review.renditions[0], (10, 10)), (0, 0, 200), 6)


def test_exif_rotated_photo_is_upright_and_loses_its_gps():
    review = _review("foto.jpg", corpus.rotated_photo_with_gps(), channels=["facebook"])

    codes = {f.code for f in review.findings}
    assert {"ASSET_ORIENTATION_APPLIED", "ASSET_GPS_REMOVED"} <= codes
    rendition = review.renditions[0]
    assert (rendition.width, rendition.height) == (400, 600)  # stored 600x400, displayed portrait
    # orientation 6: the stored top-left corner shows at the top right
    assert _close(_pixel(rendition, (rendition.width - 20, 20)), (255, 0, 0), 40)
    assert not _close(_pixel(rendition, (20, 20)), (255, 0, 0), 40)
    published = Image.open(io.BytesIO(rendition.data))
    assert len(published.getexif()) == 0 and b"Exif\x00\x00" not in rendition.data
    assert b"HumasPhone" not in rendition.data


def test_gps_in_xmp_is_reported_and_dropped():
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="6,58.5S"/>'
           b'</rdf:RDF></x:xmpmeta>')
    data = corpus.jpeg(corpus.scene((1200, 900), seed=4), 90, xmp=xmp)
    review = _review("foto.jpg", data)

    assert "ASSET_GPS_REMOVED" in {f.code for f in review.findings}
    assert all(b"GPSLatitude" not in r.data and b"xmpmeta" not in r.data for r in review.renditions)
