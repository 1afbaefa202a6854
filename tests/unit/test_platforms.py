"""The platform clients' pure parts: time parsing, text matching, error classification, construction."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from humas.exceptions import HumasError, PlatformError
from humas.platforms import (
    ClientConfig, FacebookClient, InstagramClient, PostRequest, PublishedPost, XClient, _graph_advice,
    _snowflake_time, carries_reference, item_reference, make_client, parse_time, placement_of,
)
from humas.profiles import load_profiles
from humas.publish import caption_findings, post_text

CONFIG = ClientConfig("https://graph.facebook.com", "EAAG-secret-token-value", "17841400000000001")


@pytest.mark.parametrize("value", ["2026-05-01T03:04:05+0000", "2026-05-01T03:04:05.000Z", "2026-05-01T10:04:05+07:00"])
def test_platform_timestamps_parse_to_utc(value: str) -> None:
    assert parse_time(value) == datetime(2026, 5, 1, 3, 4, 5, tzinfo=timezone.utc)


def test_the_reference_is_short_fixed_and_derived_from_the_item_id_alone() -> None:
    reference = item_reference("2026-12-01-hut-kota")
    assert reference == item_reference("2026-12-01-hut-kota")
    assert re.fullmatch(r"Ref\. [0-9A-HJKMNP-TV-Z]{8}", reference), reference   # no I, L, O, U to misread
    others = {item_reference(f"2026-12-01-hut-kota-{n}") for n in range(2000)}
    assert len(others) == 2000 and reference not in others


def test_post_text_is_the_caption_then_the_reference() -> None:
    caption = "Selamat Hari Jadi Kota Singkawang! #Singkawang @diskominfo\n"
    text = post_text(caption, "item-a", "x")
    assert text == "Selamat Hari Jadi Kota Singkawang! #Singkawang @diskominfo\n\n" + item_reference("item-a")
    assert post_text(text, "item-a", "x") == text                       # applied twice: unchanged
    assert post_text(caption, "item-a", "instagram") == post_text(caption, "item-a", "facebook") == text
    assert post_text(caption, "item-a", "instagram", "feed") == text
    assert post_text(caption, "item-b", "x") != text


def test_an_instagram_story_carries_no_text() -> None:
    assert post_text("Selamat Hari Jadi", "item-a", "instagram", "story") == ""


def test_the_reference_counts_in_the_caption_limits() -> None:
    caption, x = "a" * (280 - 10), load_profiles()["x"]           # fits X alone, not with the reference
    assert x.caption_length(caption) <= 280 < x.caption_length(post_text(caption, "item-a", "x"))
    findings = caption_findings(caption, "item-a", ["x", "instagram"])
    assert [(f.code, f.channel) for f in findings] == [("CAPTION_TOO_LONG", "x")]
    assert caption_findings("a" * 2195, "item-a", ["instagram"], {"instagram": "story"}) == []
    assert [f.code for f in caption_findings("a" * 2195, "item-a", ["instagram"])] == ["CAPTION_TOO_LONG"]
    assert [f.code for f in caption_findings("  ", "item-a", ["x"])] == ["CAPTION_EMPTY"]


def test_the_reference_is_found_only_at_the_end_of_the_text() -> None:
    posted = post_text("Info banjir & evakuasi: https://kotaku.go.id/banjir #siaga", "item-a", "x")
    assert carries_reference(posted, "item-a")
    as_x_shows_it = posted.replace("&", "&amp;").replace("https://kotaku.go.id/banjir", "https://t.co/AbC123xyZ0")
    assert carries_reference(as_x_shows_it + "  ", "item-a")
    assert not carries_reference(posted, "item-b")
    assert not carries_reference("Info banjir #siaga", "item-a")
    assert not carries_reference(posted + "\nmore text", "item-a")
    assert not carries_reference("X" + item_reference("item-a"), "item-a")      # glued to another word


def test_a_placement_the_channel_does_not_have_is_refused() -> None:
    assert placement_of("instagram", PostRequest("item-a", "t", ())) == "feed"
    assert placement_of("instagram", PostRequest("item-a", "t", (), "story")) == "story"
    with pytest.raises(PlatformError, match="Instagram has no placement 'reel'; use one of feed, reels, story") as caught:
        placement_of("instagram", PostRequest("item-a", "t", (), "reel"))
    assert caught.value.retryable is False


def test_a_published_post_round_trips_through_its_record() -> None:
    single = PublishedPost("x", "1", "https://x.com/a/status/1", "2026-11-22T02:00:00+00:00")
    assert single.to_dict() == {"channel": "x", "remote_id": "1", "permalink": "https://x.com/a/status/1",
                                "published_at": "2026-11-22T02:00:00+00:00"}
    series = PublishedPost("instagram", "1", "https://i/1", "2026-11-22T02:00:00+00:00", ("https://i/1", "https://i/2"))
    assert series.to_dict()["parts"] == ["https://i/1", "https://i/2"]
    assert PublishedPost.from_dict(series.to_dict()) == series and PublishedPost.from_dict(single.to_dict()) == single


@pytest.mark.parametrize(("status", "error", "retryable", "advice"), [
    (400, {"code": 190}, False, "renew the access token"),
    (400, {"code": 4}, True, "wait"),
    (400, {"code": 17}, True, "wait"),
    (403, {"code": 32}, True, "wait"),
    (400, {"code": 613}, True, "wait"),
    (400, {"code": 9, "error_subcode": 2207042}, True, "publishing limit"),
    (500, {"code": 1}, True, "temporary"),
    (400, {"code": -2, "error_subcode": 2207003}, True, "temporary"),
    (400, {"code": 36003, "error_subcode": 2207009}, False, "re-export the image"),
    (400, {"code": 36004, "error_subcode": 2207010}, False, "shorten the caption"),
    (400, {"code": 100, "error_subcode": 33}, False, "account_id"),
    (400, {"code": 24, "error_subcode": 2207006}, False, "correct the content"),
])
def test_graph_errors_are_classified(status: int, error: dict, retryable: bool, advice: str) -> None:
    what, may_retry = _graph_advice(status, error)
    assert may_retry is retryable and advice in what


def test_the_token_stays_out_of_the_config_repr() -> None:
    assert "secret" not in repr(CONFIG) and "***" in repr(CONFIG)


def test_make_client_picks_the_platform_client() -> None:
    assert [type(make_client(c, CONFIG)) for c in ("instagram", "facebook", "x")] == [
        InstagramClient, FacebookClient, XClient]
    assert make_client("x", CONFIG).channel == "x"


def test_make_client_refuses_an_unknown_channel() -> None:
    with pytest.raises(HumasError, match="unknown channel 'tiktok'.*instagram, facebook, x"):
        make_client("tiktok", CONFIG)


def test_x_ids_carry_their_creation_time() -> None:
    assert _snowflake_time("1146654567674912769") == "2019-07-04T05:38:47.402000+00:00"
    assert _snowflake_time("not-a-snowflake")[:4] == str(datetime.now(timezone.utc).year)
