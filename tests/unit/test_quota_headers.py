"""When a platform's limit frees, read from the headers it answers with; and how a wait reads to staff."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from humas.platforms import exhausted_until, limit_frees_at
from humas.quota import wait_message

NOW = datetime(2026, 11, 30, 6, 50, tzinfo=timezone.utc)


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert limit_frees_at({"Retry-After": "120"}, NOW) == NOW + timedelta(seconds=120)
    assert limit_frees_at({"Retry-After": "Mon, 30 Nov 2026 07:05:00 GMT"}, NOW) == NOW + timedelta(minutes=15)
    assert limit_frees_at({"Retry-After": "soon"}, NOW) is None


def test_x_reset_and_graph_time_to_regain_access() -> None:
    reset = int((NOW + timedelta(minutes=9)).timestamp())
    assert limit_frees_at({"x-rate-limit-reset": str(reset)}, NOW) == NOW + timedelta(minutes=9)
    usage = {"100000000000001": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    assert limit_frees_at({"X-Business-Use-Case-Usage": json.dumps(usage)}, NOW) == NOW + timedelta(minutes=7)
    assert limit_frees_at({"X-App-Usage": '{"call_count": 100, "estimated_time_to_regain_access": 3}'}, NOW) \
        == NOW + timedelta(minutes=3)
    assert limit_frees_at({"X-App-Usage": "not json"}, NOW) is None
    assert limit_frees_at({}, NOW) is None


def test_an_accepted_post_says_the_limit_is_used_up_only_when_nothing_remains() -> None:
    reset = str(int((NOW + timedelta(minutes=12)).timestamp()))
    assert exhausted_until({"x-rate-limit-remaining": "3", "x-rate-limit-reset": reset}, NOW) is None
    assert exhausted_until({"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}, NOW) \
        == NOW + timedelta(minutes=12)
    day = str(int((NOW + timedelta(hours=20)).timestamp()))
    assert exhausted_until({"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset,
                            "x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": day}, NOW) \
        == NOW + timedelta(hours=20)     # the later of the two limits used up


def test_the_wait_reads_in_bahasa_indonesia_in_wib() -> None:
    until = datetime(2026, 11, 30, 7, 5, tzinfo=timezone.utc)
    assert wait_message("instagram", until) == \
        "Menunggu kuota Instagram, tersedia lagi sekitar Senin, 30 November 2026 pukul 14.05 WIB"
