"""Renditions satisfy every profile they are made for; the crop/pad policy; limits per channel; duplicates."""
from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from functools import cache

import pytest
from PIL import Image

from humas.assets import Limits, check_assets, rendition_problems
from humas.assets.geometry import plan_fit
from humas.assets.limits import DEFAULT_LIMITS
from humas.exceptions import HumasError
from humas.profiles import load_profiles, parse_profiles

import asset_corpus as corpus

CHANNELS = ["instagram", "facebook", "x"]
PROFILES = load_profiles()


def placement(channel: str, name: str | None = None):
    profile = PROFILES[channel]
    return profile.placements[name or profile.default_placement]


def assert_satisfies(rendition, target) -> None:
    """Checked here from the bytes, independently of the code under test."""
    image = Image.open(io.BytesIO(rendition.data))
    assert len(rendition.data) <= target.max_bytes
    assert image.format in target.formats and image.format == rendition.format
    assert image.mode == "RGB"
    assert image.size == (rendition.width, rendition.height)
    assert target.min_width <= image.width <= target.max_width
    aspect = image.width / image.height
    assert target.min_aspect is None or aspect >= target.min_aspect - 1e-9
    assert target.max_aspect is None or aspect <= target.max_aspect + 1e-9
    assert len(image.getexif()) == 0 and "xmp" not in image.info and "comment" not in image.info
    assert b"Exif\x00\x00" not in rendition.data
    assert hashlib.sha256(rendition.data).hexdigest() == rendition.sha256
    assert rendition_problems(rendition.data, target) == []


def _sandbox_accepts(rendition, target) -> None:
    images = pytest.importorskip("humas_dev.sandbox.images")
    info = images.inspect(rendition.data)
    assert info is not None and not info.exif_gps and info.format in target.formats
    assert images.aspect_problem(info, target) is None and images.width_problem(info, target) is None
    assert info.bytes <= target.max_bytes


@cache
def _photo(size, seed=1, quality=90) -> bytes:
    return corpus.jpeg(corpus.scene(size, seed=seed), quality, exif=corpus.gps_exif())


MIXED = [
    ("01 Poster HUT.jpg", lambda: _photo((1800, 1200), 1)),
    ("infografis.png", lambda: corpus.png(corpus.scene((1080, 1350), seed=2, noise=0))),
    ("panorama.jpg", lambda: _photo((2200, 1000), 3)),
    ("potret.jpg", corpus.rotated_photo_with_gps),
    ("cetak.jpg", corpus.cmyk_jpeg_with_icc),
    ("grafik16.png", corpus.png16_rgb),
]


@pytest.mark.parametrize("fit", ["pad", "crop"])
@pytest.mark.parametrize("batch", [MIXED[:3], MIXED[3:]], ids=["photos-and-png", "rotated-cmyk-16bit"])
def test_every_rendition_satisfies_its_profile_and_the_sandbox(batch, fit):
    assets = [(name, make()) for name, make in batch]  # at most 4: X takes 4 images per post
    review = check_assets("item", assets, CHANNELS, "Selamat HUT Kota! #HUTKota", fit=fit)

    assert review.ok, review.log_lines()
    assert len(review.renditions) == len(CHANNELS) * len(assets)
    for rendition in review.renditions:
        target = placement(rendition.channel)
        assert_satisfies(rendition, target)
        _sandbox_accepts(rendition, target)


def test_renditions_come_per_channel_in_brief_order_with_sortable_names():
    assets = [(name, make()) for name, make in MIXED[:3]]
    review = check_assets("item", assets, CHANNELS, None)

    for channel in CHANNELS:
        mine = review.renditions_for(channel)
        assert [r.source for r in mine] == [name for name, _ in assets]
        assert [r.name for r in mine] == ["01-01-poster-hut.jpg", "02-infografis.jpg", "03-panorama.jpg"]
        assert all(r.content_type == "image/jpeg" and r.placement == placement(channel).name for r in mine)


def test_originals_are_untouched_and_digested():
    assets = [(name, make()) for name, make in MIXED[:2]]
    before = [bytes(data) for _, data in assets]
    review = check_assets("item", assets, CHANNELS, None)

    assert [data for _, data in assets] == before
    assert review.asset_digests == {name: hashlib.sha256(data).hexdigest() for name, data in assets}


def test_instagram_gets_jpeg_from_png_and_says_so():
    review = check_assets("item", [("infografis.png", MIXED[1][1]())], ["instagram"], None)

    converted = next(f for f in review.findings if f.code == "ASSET_FORMAT_CONVERTED")
    assert converted.channel == "instagram" and converted.severity == "info"
    assert review.renditions[0].format == "JPEG"


def test_photo_within_range_keeps_its_ratio_and_shrinks_to_target_width():
    review = check_assets("item", [("foto.jpg", _photo((3000, 2000)))], CHANNELS, None)

    sizes = {r.channel: (r.width, r.height) for r in review.renditions}
    assert sizes == {"instagram": (1080, 720), "facebook": (2048, 1365), "x": (2048, 1365)}
    assert not [f for f in review.findings if f.code.startswith("ASSET_ASPECT")]


def test_wide_banner_is_cropped_to_instagram_max_ratio_with_a_warning():
    review = check_assets("item", [("banner.jpg", _photo((2200, 1000)))], ["instagram"], None, fit="crop")

    cropped = next(f for f in review.findings if f.code == "ASSET_ASPECT_CROPPED")
    assert cropped.severity == "warning" and "13%" in cropped.message_id
    rendition = review.renditions[0]
    assert rendition.width == 1080 and abs(rendition.width / rendition.height - 1.91) < 0.01


def test_wide_banner_is_padded_with_its_edge_colour():
    banner = Image.new("RGB", (2200, 1000), (20, 60, 140))
    review = check_assets("item", [("banner.jpg", corpus.jpeg(banner, 95))], ["instagram"], None, fit="pad")

    assert next(f for f in review.findings if f.code == "ASSET_ASPECT_PADDED").severity == "info"
    rendition = review.renditions[0]
    image = Image.open(io.BytesIO(rendition.data)).convert("RGB")
    assert abs(rendition.width / rendition.height - 1.91) < 0.01
    assert all(abs(a - b) <= 6 for a, b in zip(image.getpixel((540, 3)), (20, 60, 140)))


def test_tall_infographic_far_outside_the_range_is_sent_back_for_instagram_only():
    tall = corpus.png(corpus.scene((1000, 4000), seed=7, noise=0))
    review = check_assets("item", [("infografis.png", tall)], CHANNELS, None)

    error = next(f for f in review.findings if f.code == "ASSET_ASPECT_OUT_OF_RANGE")
    assert error.channel == "instagram" and "31% bingkai" in error.message_id and "slide" in error.message_id
    assert [r.channel for r in review.renditions] == ["facebook", "x"]
    assert review.blocking_for("instagram") and not review.blocking_for("x")


def test_crop_policy_refuses_to_cut_away_more_than_a_third():
    review = check_assets("item", [("banner.jpg", _photo((3000, 1000)))], ["instagram"], None, fit="crop")

    error = next(f for f in review.findings if f.code == "ASSET_ASPECT_OUT_OF_RANGE")
    assert "membuang 36% gambar" in error.message_id
    assert review.renditions == []


def test_story_placement_gets_nine_by_sixteen():
    review = check_assets("item", [("foto.jpg", _photo((1600, 1200)))], ["instagram"], None,
                          placement_overrides={"instagram": "story"})

    rendition = review.renditions[0]
    assert (rendition.placement, rendition.width, rendition.height) == ("story", 1080, 1920)
    assert_satisfies(rendition, placement("instagram", "story"))


def test_story_crop_of_a_landscape_photo_would_lose_too_much():
    review = check_assets("item", [("foto.jpg", _photo((1600, 1200)))], ["instagram"], None,
                          placement_overrides={"instagram": "story"}, fit="crop")

    assert "ASSET_ASPECT_OUT_OF_RANGE" in {f.code for f in review.findings}


def test_small_image_is_too_small_for_instagram_but_fine_for_facebook_with_a_warning():
    review = check_assets("item", [("kecil.jpg", _photo((300, 300)))], ["instagram", "facebook"], None)

    by_code = {(f.code, f.channel): f for f in review.findings}
    too_small = by_code[("ASSET_TOO_SMALL", "instagram")]
    assert "300 piksel" in too_small.message_id and "320" in too_small.message_id
    assert ("ASSET_LOW_RESOLUTION", "facebook") in by_code
    assert [(r.channel, r.width) for r in review.renditions] == [("facebook", 300)]


def test_very_tall_strip_is_capped_and_refused_where_it_would_get_too_narrow():
    strip = corpus.png(Image.new("RGB", (1000, 30000), (200, 200, 200)))
    review = check_assets("item", [("strip.png", strip)], ["facebook", "x"], None)

    assert {(f.code, f.channel) for f in review.findings if f.blocking} == {("ASSET_ASPECT_OUT_OF_RANGE", "facebook")}
    x = review.renditions_for("x")[0]
    assert x.height == 8192 and x.width == 273


def test_file_far_over_the_size_limit_is_recompressed_under_every_limit():
    data = corpus.noise_jpeg()
    assert len(data) > 2 * placement("instagram").max_bytes
    review = check_assets("item", [("noise.jpg", data)], CHANNELS, None)

    too_large = {f.channel for f in review.findings if f.code == "ASSET_FILE_TOO_LARGE"}
    assert too_large == set(CHANNELS)
    assert "ASSET_QUALITY_REDUCED" in {f.code for f in review.findings}
    assert review.ok
    for rendition in review.renditions:
        assert_satisfies(rendition, placement(rendition.channel))


def test_rendition_that_cannot_fit_its_byte_limit_is_an_error():
    raw = {"channels": {"tiny": {
        "display_name": "Tiny", "caption": {"max_chars": 100}, "default_placement": "post",
        "placements": {"post": {"formats": ["JPEG"], "min_aspect": None, "max_aspect": None, "min_width": 1000,
                                "max_width": 1000, "max_bytes": 5000, "max_items": 1, "target_width": 1000}}}}}
    review = check_assets("item", [("noise.jpg", corpus.noise_jpeg())], ["tiny"], None, profiles=parse_profiles(raw))

    assert [f.code for f in review.findings if f.blocking] == ["ASSET_RENDITION_TOO_LARGE"]
    assert review.renditions == []


def test_rendition_failing_its_own_profile_is_reported_not_published():
    raw = {"channels": {"print": {
        "display_name": "Print", "caption": {"max_chars": 100}, "default_placement": "sheet",
        "placements": {"sheet": {"formats": ["JPEG"], "min_aspect": None, "max_aspect": None, "min_width": 100,
                                 "max_width": 4000, "max_bytes": 10_000_000, "max_items": 1,
                                 "target_width": 1000, "color_mode": "CMYK"}}}}}
    review = check_assets("item", [("foto.jpg", _photo((1200, 900)))], ["print"], None,
                          profiles=parse_profiles(raw))

    invalid = next(f for f in review.findings if f.code == "ASSET_RENDITION_INVALID")
    assert "colour mode RGB is not CMYK" in invalid.message_en
    assert review.renditions == []


def test_facebook_and_x_share_one_encode_when_their_geometry_matches():
    review = check_assets("item", [("foto.jpg", _photo((3000, 2000)))], ["facebook", "x"], None)

    facebook, x = review.renditions
    assert facebook.sha256 == x.sha256


def test_too_many_images_blocks_only_the_channel_that_takes_fewer():
    assets = [(f"slide-{i}.jpg", _photo((1200, 1200), seed=10 + i)) for i in range(5)]
    review = check_assets("item", assets, CHANNELS, None)

    blocking = [f for f in review.findings if f.blocking]
    assert [(f.code, f.channel, f.asset) for f in blocking] == [("ASSET_TOO_MANY_ITEMS", "x", None)]
    assert "paling banyak 4 gambar" in blocking[0].message_id
    assert {r.channel for r in review.renditions} == {"instagram", "facebook"}
    assert len(review.renditions_for("instagram")) == 5


def test_same_image_twice_is_a_duplicate():
    photo = _photo((1200, 900), seed=21)
    review = check_assets("item", [("a.jpg", photo), ("b.jpg", photo)], CHANNELS, None)

    duplicate = next(f for f in review.findings if f.code == "ASSET_DUPLICATE")
    assert (duplicate.asset, duplicate.severity) == ("b.jpg", "error") and "a.jpg" in duplicate.message_id
    assert review.renditions == []


def test_re_exported_image_is_a_near_duplicate_warning_and_different_ones_are_not():
    scene = corpus.scene((1600, 1200), seed=22)
    again = corpus.jpeg(scene.resize((1200, 900)), 70)
    other = _photo((1600, 1200), seed=23)
    review = check_assets("item", [("a.jpg", corpus.jpeg(scene, 92)), ("b.jpg", again), ("c.jpg", other)],
                          CHANNELS, None)

    near = [f for f in review.findings if f.code == "ASSET_NEAR_DUPLICATE"]
    assert [(f.asset, f.severity) for f in near] == [("b.jpg", "warning")]
    assert review.ok


def test_plan_fit_keeps_rounding_inside_the_range():
    feed = placement("instagram")
    for size in [(1001, 1251), (999, 1250), (4000, 2094), (4001, 2095), (320, 400)]:
        fit = plan_fit(size, feed, "pad", DEFAULT_LIMITS)
        assert feed.min_aspect - 1e-9 <= fit.out_aspect <= feed.max_aspect + 1e-9, size
        fit = plan_fit(size, feed, "crop", DEFAULT_LIMITS)
        assert feed.min_aspect - 1e-9 <= fit.out_aspect <= feed.max_aspect + 1e-9, size


def test_jpeg_is_decoded_drafted_not_at_full_size(monkeypatch):
    from humas.assets import decode as decode_module

    sizes = []
    original = decode_module._load

    def spy(name, im, data):
        original(name, im, data)
        sizes.append(im.size)

    monkeypatch.setattr(decode_module, "_load", spy)
    check_assets("item", [("foto.jpg", _photo((4800, 3200)))], ["instagram"], None)

    assert sizes == [(1200, 800)]  # 1/4 DCT scale still covers the 1080-px rendition


def test_bad_arguments_are_refused_clearly():
    photo = [("foto.jpg", _photo((1200, 900)))]
    with pytest.raises(HumasError, match="unknown channel 'tiktok'"):
        check_assets("item", photo, ["tiktok"], None)
    with pytest.raises(HumasError, match="no placement 'igtv'"):
        check_assets("item", photo, ["instagram"], None, placement_overrides={"instagram": "igtv"})
    with pytest.raises(HumasError, match="fit 'stretch'"):
        check_assets("item", photo, ["instagram"], None, fit="stretch")
    with pytest.raises(HumasError, match="unique"):
        check_assets("item", photo * 2, ["instagram"], None)


def test_stricter_quality_policy_still_produces_valid_files():
    limits = replace(Limits(), jpeg_quality=95, jpeg_min_quality=60)
    review = check_assets("item", [("noise.jpg", corpus.noise_jpeg())], ["x"], None, limits=limits)

    assert review.ok
    assert_satisfies(review.renditions[0], placement("x"))
