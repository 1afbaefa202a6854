"""The platform clients' pure parts: time parsing, text matching, error classification, construction."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from humas.exceptions import HumasError
from humas.platforms import (
    ClientConfig, FacebookClient, InstagramClient, XClient, _graph_advice, _snowflake_time, make_client, parse_time,
    same_x_text,
)

CONFIG = ClientConfig("https://graph.facebook.com", "EAAG-secret-token-value", "17841400000000001")


@pytest.mark.parametrize("value", ["2026-05-01T03:04:05+0000", "2026-05-01T03:04:05.000Z", "2026-05-01T10:04:05+07:00"])
def test_platform_timestamps_parse_to_utc(value: str) -> None:
    assert parse_time(value) == datetime(2026, 5, 1, 3, 4, 5, tzinfo=timezone.utc)


def test_x_text_matches_despite_tco_links_and_entities() -> None:
    sent = "Info banjir & evakuasi: https://kotaku.go.id/banjir?x=1 #siaga"
    assert same_x_text("Info banjir &amp; evakuasi: https://t.co/AbC123xyZ0 #siaga", sent)
    assert not same_x_text("Info banjir &amp; evakuasi: https://t.co/AbC123xyZ0 #waspada", sent)


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
