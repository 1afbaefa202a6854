"""The caption against each channel's limits: length (X weighs links and emoji), hashtags, mentions."""
from __future__ import annotations

from humas.assets import check_caption, check_assets
from humas.assets.caption import counting_for, weighted_length
from humas.profiles import load_profiles

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

    assert len(text) > 280 and weighted_length(text) == 250 + 1 + 23
    assert check_caption(text, ["x"]) == []


def test_x_counts_emoji_double():
    assert weighted_length("📢" * 140) == 280
    assert check_caption("📢" * 140, ["x"]) == []
    assert _codes(check_caption("📢" * 141, ["x"])) == {("CAPTION_TOO_LONG", "x")}


def test_counting_rule_comes_from_the_platform_profiles():
    assert counting_for("x") == "weighted"
    assert counting_for("instagram") == "chars"


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
