"""Exactly-once publish records in a real S3 bucket.

The platform is the one thing not under test here, so it is a small scripted stand-in; the real
clients are tested against the platform sandbox elsewhere.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest

from humas import layout, publish
from humas.exceptions import PlatformError, PublishUncertainError
from humas.platforms import MediaRef, PostRequest, Progress, PublishedPost
from humas.store import Store

pytestmark = pytest.mark.integration

ITEM = "2026-11-22-hut-kota"
POST = PostRequest(ITEM, "Selamat Hari Jadi! #Singkawang",
                   (MediaRef("poster.jpg", "http://127.0.0.1/poster.jpg", b"\xff\xd8jpeg", "image/jpeg"),))

Outcome = PublishedPost | Exception


class ScriptedPlatform:
    """Answers ``publish`` and ``find_existing`` from scripts and remembers every call, in order."""

    def __init__(self, channel: str, publish_outcomes: list[Outcome] | None = None,
                 find_outcomes: list[Outcome | None] | None = None) -> None:
        self.channel = channel
        self.publish_outcomes = list(publish_outcomes or [])
        self.find_outcomes = list(find_outcomes or [])
        self.calls: list[tuple[str, object]] = []

    def publish(self, post: PostRequest, progress: Progress | None = None) -> PublishedPost:
        self.calls.append(("publish", post))
        return self._next(self.publish_outcomes, "publish")

    def find_existing(self, post: PostRequest, since: datetime,
                      progress: Progress | None = None) -> PublishedPost | None:
        self.calls.append(("find_existing", since))
        return self._next(self.find_outcomes, "find_existing") if self.find_outcomes else None  # not there

    def remaining_quota(self) -> int | None:
        return None

    def quota_until(self, rank: int = 0) -> datetime | None:
        return None

    def observed_until(self) -> datetime | None:
        return None

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    @staticmethod
    def _next(outcomes: list, what: str):
        if not outcomes:
            raise AssertionError(f"unexpected call to {what}")
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def _post(channel: str, remote_id: str = "17900000000000001") -> PublishedPost:
    return PublishedPost(channel, remote_id, f"https://{channel}.example/p/{remote_id}", "2026-11-22T02:00:00+00:00")


def _record(store: Store, channel: str) -> dict:
    record = store.get_json(layout.publish_key(ITEM, channel))
    assert record is not None
    return record


def _uncertain(channel: str) -> PublishUncertainError:
    return PublishUncertainError(f"{channel}: media_publish: no answer within 30 s")


# ------------------------------------------------------------------------------------------- publish_once


def test_unpublished_channel_reads_as_new(store: Store) -> None:
    assert publish.read_record(store, ITEM, "instagram") == {"state": "new", "attempts": 0}


def test_published_on_the_first_call_and_never_sent_again(store: Store) -> None:
    post = _post("instagram")
    platform = ScriptedPlatform("instagram", publish_outcomes=[post])
    before = datetime.now(timezone.utc)

    assert publish.publish_once(store, platform, POST) == post
    assert platform.names() == ["find_existing", "publish"] and platform.calls[1] == ("publish", POST)
    record = _record(store, "instagram")
    assert (record["state"], record["attempts"], record["error"]) == ("published", 1, None)
    assert record["post"] == {"channel": "instagram", "remote_id": post.remote_id, "permalink": post.permalink,
                              "published_at": post.published_at}
    assert "progress" not in record
    assert record["confirmed_by"] == "platform response"
    assert before <= datetime.fromisoformat(record["started_at"]) <= datetime.fromisoformat(record["confirmed_at"])

    again = ScriptedPlatform("instagram")  # any call to it would fail the test
    assert publish.publish_once(store, again, POST) == post
    assert again.calls == []
    assert _record(store, "instagram") == record  # nothing rewritten


def test_each_channel_has_its_own_record(store: Store) -> None:
    publish.publish_once(store, ScriptedPlatform("instagram", [_post("instagram", "1")]), POST)
    x = ScriptedPlatform("x", [_post("x", "2")])
    assert publish.publish_once(store, x, POST).remote_id == "2"
    assert x.names() == ["find_existing", "publish"]
    assert _record(store, "instagram")["post"]["remote_id"] == "1"
    assert _record(store, "x")["post"]["remote_id"] == "2"


def test_attempting_is_recorded_before_the_request_is_sent(store: Store) -> None:
    seen: list[dict] = []

    class Watching(ScriptedPlatform):
        def publish(self, post: PostRequest, progress: Progress | None = None) -> PublishedPost:
            seen.append(publish.read_record(store, ITEM, self.channel))
            return super().publish(post, progress)

    publish.publish_once(store, Watching("facebook", [_post("facebook")]), POST)
    assert seen[0]["state"] == "attempting" and seen[0]["attempts"] == 1 and "started_at" in seen[0]


def test_uncertain_then_found_is_published_without_resending(store: Store) -> None:
    post = _post("instagram")
    platform = ScriptedPlatform("instagram", publish_outcomes=[_uncertain("instagram")], find_outcomes=[None, post])

    assert publish.publish_once(store, platform, POST) == post
    assert platform.names() == ["find_existing", "publish", "find_existing"]
    record = _record(store, "instagram")
    assert (record["state"], record["attempts"]) == ("published", 1)
    assert record["post"]["remote_id"] == post.remote_id
    assert record["confirmed_by"] == "found on platform after a timeout"
    # it looked back from just before the attempt began
    since = platform.calls[2][1]
    assert since == datetime.fromisoformat(record["started_at"]) - publish.LOOKBACK_SLACK

    later = ScriptedPlatform("instagram")
    assert publish.publish_once(store, later, POST) == post and later.calls == []


def test_uncertain_and_not_found_raises_and_stays_attempting(store: Store) -> None:
    platform = ScriptedPlatform("x", publish_outcomes=[_uncertain("x")], find_outcomes=[None, None])
    with pytest.raises(PublishUncertainError):
        publish.publish_once(store, platform, POST)
    assert platform.names() == ["find_existing", "publish", "find_existing"]
    record = _record(store, "x")
    assert (record["state"], record["attempts"]) == ("attempting", 1)
    assert "post" not in record


def test_retry_after_an_uncertain_attempt_looks_first_and_finds_it(store: Store) -> None:
    first = ScriptedPlatform("x", publish_outcomes=[_uncertain("x")], find_outcomes=[None])
    with pytest.raises(PublishUncertainError):
        publish.publish_once(store, first, POST)
    started = datetime.fromisoformat(_record(store, "x")["started_at"])

    post = _post("x", "1860000000000000000")
    retry = ScriptedPlatform("x", find_outcomes=[post])  # the post did go out; it shows up now
    assert publish.publish_once(store, retry, POST) == post
    assert retry.calls == [("find_existing", started - publish.LOOKBACK_SLACK)]  # no second publish
    record = _record(store, "x")
    assert (record["state"], record["attempts"]) == ("published", 1)
    assert record["confirmed_by"] == "found on platform after an interrupted attempt"


def test_retry_after_an_uncertain_attempt_resends_only_after_looking(store: Store) -> None:
    first = ScriptedPlatform("x", publish_outcomes=[_uncertain("x")], find_outcomes=[None])
    with pytest.raises(PublishUncertainError):
        publish.publish_once(store, first, POST)

    post = _post("x")
    retry = ScriptedPlatform("x", publish_outcomes=[post], find_outcomes=[None])
    assert publish.publish_once(store, retry, POST) == post
    assert retry.names() == ["find_existing", "publish"]
    record = _record(store, "x")
    assert (record["state"], record["attempts"], record["confirmed_by"]) == ("published", 2, "platform response")


def test_a_crash_between_attempting_and_the_answer_is_checked_on_the_next_call(store: Store) -> None:
    # A worker died mid-request: the record says "attempting" and nothing else is known.
    started = datetime.now(timezone.utc) - timedelta(minutes=10)
    store.put_json(layout.publish_key(ITEM, "facebook"),
                   {"state": "attempting", "attempts": 1, "started_at": started.isoformat(), "error": None})
    post = _post("facebook")
    platform = ScriptedPlatform("facebook", find_outcomes=[post])
    assert publish.publish_once(store, platform, POST) == post
    assert platform.calls == [("find_existing", started - publish.LOOKBACK_SLACK)]


@pytest.mark.parametrize("retryable", [True, False])
def test_platform_error_is_recorded_as_failed(store: Store, retryable: bool) -> None:
    error = PlatformError("instagram", "media_publish was refused (HTTP 400): caption too long", status=400,
                          retryable=retryable)
    platform = ScriptedPlatform("instagram", publish_outcomes=[error])
    with pytest.raises(PlatformError) as info:
        publish.publish_once(store, platform, POST)
    assert info.value is error
    assert platform.names() == ["find_existing", "publish"]  # looked first (no record); a refusal is certain
    record = _record(store, "instagram")
    assert (record["state"], record["attempts"], record["retryable"]) == ("failed", 1, retryable)
    assert record["error"] == str(error) and "caption too long" in record["error"]
    assert "post" not in record


def test_after_a_failure_the_next_call_looks_first_then_sends_again(store: Store) -> None:
    refused = PlatformError("facebook", "rate limited", status=429, retryable=True)
    with pytest.raises(PlatformError):
        publish.publish_once(store, ScriptedPlatform("facebook", [refused]), POST)
    started = datetime.fromisoformat(_record(store, "facebook")["started_at"])
    post = _post("facebook")
    platform = ScriptedPlatform("facebook", [post], find_outcomes=[None])
    assert publish.publish_once(store, platform, POST) == post
    assert platform.calls[0] == ("find_existing", started - publish.LOOKBACK_SLACK)
    assert platform.names() == ["find_existing", "publish"]
    record = _record(store, "facebook")
    assert (record["state"], record["attempts"], record["error"]) == ("published", 2, None)


def test_a_failure_after_which_the_post_is_found_is_not_sent_again(store: Store) -> None:
    # e.g. the platform made the post, then answered 429: the refusal was not the whole story
    refused = PlatformError("x", "creating the post was refused (HTTP 429)", status=429, retryable=True)
    with pytest.raises(PlatformError):
        publish.publish_once(store, ScriptedPlatform("x", [refused]), POST)
    post = _post("x")
    platform = ScriptedPlatform("x", find_outcomes=[post])
    assert publish.publish_once(store, platform, POST) == post
    assert platform.names() == ["find_existing"]
    record = _record(store, "x")
    assert (record["state"], record["attempts"], record["error"]) == ("published", 1, None)
    assert record["confirmed_by"] == "found on platform after a failed attempt"


def test_every_later_look_starts_from_the_first_attempt(store: Store) -> None:
    first = ScriptedPlatform("instagram", [_uncertain("instagram")], find_outcomes=[None])
    with pytest.raises(PublishUncertainError):
        publish.publish_once(store, first, POST)
    began = datetime.fromisoformat(_record(store, "instagram")["first_started_at"])
    second = ScriptedPlatform("instagram", [PlatformError("instagram", "rate limited", retryable=True)],
                              find_outcomes=[None])
    with pytest.raises(PlatformError):
        publish.publish_once(store, second, POST)
    assert _record(store, "instagram")["attempts"] == 2
    third = ScriptedPlatform("instagram", find_outcomes=[_post("instagram")])
    publish.publish_once(store, third, POST)
    assert third.calls == [("find_existing", began - publish.LOOKBACK_SLACK)]


def test_progress_a_client_reports_is_in_the_record_at_once(store: Store) -> None:
    seen: list[dict] = []

    class Stepping(ScriptedPlatform):
        def publish(self, post: PostRequest, progress: Progress | None = None) -> PublishedPost:
            assert progress is not None
            progress.put("story-0", {"container": "1789"})
            seen.append(publish.read_record(store, ITEM, self.channel))
            raise PlatformError(self.channel, "story 2 refused", retryable=True)

        def find_existing(self, post: PostRequest, since: datetime,
                          progress: Progress | None = None) -> PublishedPost | None:
            seen.append({"looked with": progress.get("story-0") if progress else None})
            return None

    with pytest.raises(PlatformError):
        publish.publish_once(store, Stepping("instagram"), POST)
    assert seen[0] == {"looked with": {}}  # asked first, with no record yet
    assert seen[1]["progress"] == {"story-0": {"container": "1789"}} and seen[1]["state"] == "attempting"
    assert _record(store, "instagram")["progress"] == {"story-0": {"container": "1789"}}
    with pytest.raises(PlatformError):
        publish.publish_once(store, Stepping("instagram"), POST)     # the retry hands the progress back
    assert seen[2] == {"looked with": {"container": "1789"}}


def test_uncertain_then_refused_while_looking_stays_attempting(store: Store) -> None:
    platform = ScriptedPlatform("instagram", publish_outcomes=[_uncertain("instagram")],
                                find_outcomes=[None, PlatformError("instagram", "rate limited", retryable=True)])
    with pytest.raises(PlatformError):
        publish.publish_once(store, platform, POST)
    # the post may exist: the next call must look before sending, so the record must not say "failed"
    assert _record(store, "instagram")["state"] == "attempting"


def test_with_no_record_at_all_the_platform_is_asked_first_and_nothing_is_sent_twice(store: Store) -> None:
    """A deleted (or never written) record: the post already on the platform is found, never made again."""
    post = _post("facebook")
    accepted = datetime(2026, 11, 22, 1, 0, tzinfo=timezone.utc)
    platform = ScriptedPlatform("facebook", find_outcomes=[post])  # any publish call would fail the test
    assert publish.publish_once(store, platform, POST, since=accepted) == post
    assert platform.calls == [("find_existing", accepted - publish.LOOKBACK_SLACK)]
    record = _record(store, "facebook")
    assert record["state"] == "published" and record["confirmed_by"] == "found on platform after no record"


def test_the_look_starts_from_when_the_item_was_accepted_when_that_is_earlier(store: Store) -> None:
    with pytest.raises(PlatformError):
        publish.publish_once(store, ScriptedPlatform("x", [PlatformError("x", "busy", retryable=True)]), POST)
    accepted = datetime.now(timezone.utc) - timedelta(days=2)
    retry = ScriptedPlatform("x", find_outcomes=[_post("x")])
    publish.publish_once(store, retry, POST, since=accepted)
    assert retry.calls == [("find_existing", accepted - publish.LOOKBACK_SLACK)]


# ------------------------------------------------------------------------------------------- receipt


def _publish(store: Store, channel: str, outcome: Outcome) -> None:
    platform = ScriptedPlatform(channel, publish_outcomes=[outcome], find_outcomes=[None])
    try:
        publish.publish_once(store, platform, POST)
    except (PlatformError, PublishUncertainError):
        pass


def test_receipt_lists_the_posts_and_names_the_missing_channels(store: Store) -> None:
    ig = _post("instagram", "1")
    _publish(store, "instagram", ig)
    _publish(store, "facebook", PlatformError("facebook", "photos was refused (HTTP 400): bad image"))
    _publish(store, "x", _uncertain("x"))

    receipt = publish.receipt(store, ITEM, ["instagram", "facebook", "x", "threads"], "HUT Kota", "singkawang")

    assert (receipt["item_id"], receipt["title"], receipt["sop"]) == (ITEM, "HUT Kota", "singkawang")
    assert receipt["posts"] == [ig.to_dict()]
    assert receipt["missing"] == [
        {"channel": "facebook", "state": "failed", "error": "facebook: photos was refused (HTTP 400): bad image"},
        {"channel": "x", "state": "attempting", "error": None},
        {"channel": "threads", "state": "new", "error": None},
    ]
    assert receipt["complete"] is False
    assert datetime.fromisoformat(receipt["recorded_at"]).tzinfo is not None


def test_receipt_is_complete_when_every_channel_is_published(store: Store) -> None:
    posts = [_post(channel, str(n)) for n, channel in enumerate(["instagram", "facebook", "x"])]
    for post in posts:
        _publish(store, post.channel, post)
    receipt = publish.receipt(store, ITEM, ["instagram", "facebook", "x"], "HUT Kota", "singkawang")
    assert receipt["posts"] == [p.to_dict() for p in posts]
    assert receipt["missing"] == [] and receipt["complete"] is True


def test_receipt_follows_the_order_of_the_channels_asked_for(store: Store) -> None:
    for n, channel in enumerate(["instagram", "x"]):
        _publish(store, channel, _post(channel, str(n)))
    receipt = publish.receipt(store, ITEM, ["x", "instagram"], "t", "s")
    assert [p["channel"] for p in receipt["posts"]] == ["x", "instagram"]
