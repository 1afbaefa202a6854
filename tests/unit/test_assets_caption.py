"""The caption against each channel's limits: length (X weighs links and emoji), hashtags, mentions."""
from __future__ import annotations

import pytest
import yaml

from humas.assets import check_assets, check_caption
from humas.exceptions import HumasError
from humas.profiles import load_profiles, parse_profiles, x_weighted_length
from humas.resources import platforms_file

CHANNELS = ["instagram", "facebook", "x"]


def _codes(findings) -> set[tuple[str, str | None]]:
    return {(f.code, f.channel) for f in findings}


def test_short_caption_passes_everywhere():
    assert check_caption("Selamat Hari Jadi Kota Singkawang ke-45! #HUTSingkawang @pemkotsingkawang", CHANNELS) == []


def test_caption_over_280_blocks_only_x_and_says_how_much_to_cut():
    findings = check_caption("a" * 300, CHANNELS)

    assert _codes(findings) == {("CAPTION_TOO_LONG", "x")}
    finding = findings[0]
    assert finding.severity == "error" and finding.asset is None
    assert "300 karakter" in finding.message_id and "Pendekkan 20 karakter" in finding.message_id
    assert "links count 23" in finding.message_en


def test_caption_over_instagram_limit_blocks_instagram_and_x():
    limit = load_profiles()["instagram"].caption.max_chars

    assert _codes(check_caption("b" * (limit + 1), CHANNELS)) == {("CAPTION_TOO_LONG", "instagram"),
                                                                    ("CAPTION_TOO_LONG", "x")}


def test_x_counts_each_link_as_23():
    link = "https://jogjakota.go.id/berita/2026/11/22/jadwal-lengkap-perayaan-hari-jadi-kota"
    text = "c" * 250 + " " + link

    assert len(text) > 280 and x_weighted_length(text) == 250 + 1 + 23
    assert check_caption(text, ["x"]) == []


def test_x_counts_as_twitter_text_does_bare_domains_and_emoji_sequences_included():
    assert x_weighted_length("halo https://example.go.id/" + "p" * 100) == 5 + 23
    assert x_weighted_length("Info lengkap: jogjakota.go.id") == 14 + 23  # a bare domain is a link on X too
    assert x_weighted_length("Keluarga 👨‍👩‍👧") == 9 + 2  # one emoji sequence, counted once
    assert x_weighted_length("日本 https://a.id/x https://b.id/y") == 4 + 1 + 23 + 1 + 23


def test_x_counts_emoji_double():
    assert x_weighted_length("📢" * 140) == 280
    assert check_caption("📢" * 140, ["x"]) == []
    assert _codes(check_caption("📢" * 141, ["x"])) == {("CAPTION_TOO_LONG", "x")}


def test_counting_rule_comes_from_the_platform_profiles():
    profiles = load_profiles()
    assert profiles["x"].caption_counting == "weighted"
    assert profiles["instagram"].caption_counting == profiles["facebook"].caption_counting == "chars"
    assert profiles["x"].caption_length("日本 https://a.id/x") == 4 + 1 + 23
    assert profiles["instagram"].caption_length("日本 https://a.id/x") == len("日本 https://a.id/x")


def _raw_profiles() -> dict:
    return yaml.safe_load(platforms_file().read_text(encoding="utf-8"))


def test_the_caption_is_counted_by_the_profiles_given():
    raw = _raw_profiles()
    raw["channels"]["instagram"]["caption_counting"] = "weighted"
    raw["channels"]["x"]["caption_counting"] = "chars"
    given = parse_profiles(raw)
    emoji = "📢" * 1200  # 1200 code points, weighing 2400

    assert _codes(check_caption(emoji, ["instagram", "x"], profiles=given)) == {("CAPTION_TOO_LONG", "instagram"),
                                                                                ("CAPTION_TOO_LONG", "x")}
    assert _codes(check_caption("📢" * 200, ["instagram", "x"], profiles=given)) == set()
    too_long = check_caption(emoji, ["instagram"], profiles=given)[0]
    assert "2400 karakter" in too_long.message_id and "links count 23" in too_long.message_en


def test_an_unknown_counting_rule_is_refused_naming_channel_and_field():
    raw = _raw_profiles()
    raw["channels"]["x"]["caption_counting"] = "words"

    with pytest.raises(HumasError, match=r"channel 'x' caption_counting is 'words'; write one of chars, weighted"):
        parse_profiles(raw, "platforms.yaml")


def test_too_many_hashtags_for_instagram():
    caption = "Info layanan " + " ".join(f"#tag{i}" for i in range(31))
    findings = check_caption(caption, CHANNELS)

    assert ("CAPTION_TOO_MANY_HASHTAGS", "instagram") in _codes(findings)
    finding = next(f for f in findings if f.code == "CAPTION_TOO_MANY_HASHTAGS")
    assert "31 tagar" in finding.message_id and "Hapus 1 tagar" in finding.message_id


def test_too_many_mentions_for_instagram():
    caption = "Terima kasih " + " ".join(f"@dinas{i}" for i in range(21))

    assert ("CAPTION_TOO_MANY_MENTIONS", "instagram") in _codes(check_caption(caption, CHANNELS))


def test_thirty_hashtags_and_twenty_mentions_are_allowed():
    caption = " ".join(f"#t{i}" for i in range(30)) + " " + " ".join(f"@a{i}" for i in range(20))

    assert check_caption(caption, ["instagram"]) == []


def test_empty_caption_is_a_warning():
    findings = check_caption("   ", CHANNELS)

    assert [(f.code, f.severity) for f in findings] == [("CAPTION_EMPTY", "warning")]


def test_review_blocks_only_the_channel_whose_caption_limit_is_broken():
    from PIL import Image

    import asset_corpus as corpus
    photo = corpus.jpeg(Image.new("RGB", (1200, 1000), (90, 120, 150)), 90)
    review = check_assets("item", [("foto.jpg", photo)], CHANNELS, "d" * 400)

    assert review.blocking_for("x") and not review.blocking_for("instagram")
    assert {r.channel for r in review.renditions} == {"instagram", "facebook"}
