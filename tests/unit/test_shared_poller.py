"""The shared bucket poller: many waiting triggers, one listing per interval, exactly the right ones woken."""
from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from humas_airflow import triggers
from humas_airflow.triggers import (
    MAX_CONSECUTIVE_ERRORS,
    BucketChangeTrigger,
    SharedBucketPoller,
    prefix_root,
    shared_poller,
)

TICK = 0.02


class FakeBucket:
    """Key -> ETag, listed by prefix the way ListObjectsV2 does; counts listings, can fail on demand."""

    def __init__(self, objects: dict[str, str] | None = None) -> None:
        self.objects = dict(objects or {})
        self.listed: list[str] = []
        self.failures = 0
        self.lock = threading.Lock()

    def list(self, prefix: str) -> dict[str, str]:
        with self.lock:
            self.listed.append(prefix)
            if self.failures:
                self.failures -= 1
                raise ConnectionError("bucket unreachable")
            return {k: v for k, v in sorted(self.objects.items()) if k.startswith(prefix)}

    def page(self, prefix: str, after: str) -> tuple[dict[str, str], bool]:
        """One ListObjectsV2 page: up to 1,000 keys under ``prefix`` after ``after``, and whether more follow."""
        with self.lock:
            self.listed.append(prefix)
            if self.failures:
                self.failures -= 1
                raise ConnectionError("bucket unreachable")
            keys = [k for k in sorted(self.objects) if k.startswith(prefix) and k > after]
            return {k: self.objects[k] for k in keys[:1000]}, len(keys) > 1000


@pytest.fixture(autouse=True)
def fast_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ticks of a few milliseconds: let the request budget allow them (one test checks the budget itself)."""
    monkeypatch.setattr(triggers, "MAX_LIST_REQUESTS_PER_SECOND", 1000.0)


def flag(item: str, gate: str = "step_3_decision") -> str:
    return f"approvals/{item}/{gate}.json"


def run(coro: Any, timeout: float = 10) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_prefix_root_is_the_top_folder() -> None:
    assert prefix_root("approvals/item-1/step_3_decision.json") == "approvals/"
    assert prefix_root("inbox/item-1/") == "inbox/"
    assert prefix_root("loose-key") == "loose-key"


def test_many_waiters_share_one_listing_per_interval_and_a_change_wakes_exactly_its_waiters() -> None:
    bucket = FakeBucket({flag("done"): "e0"})
    poller = SharedBucketPoller("humas_bucket", "approvals/", bucket.page)

    async def scenario() -> tuple[dict, list[bool]]:
        waits = {f"item-{i}": asyncio.ensure_future(poller.wait(flag(f"item-{i}"), {}, TICK)) for i in range(300)}
        rewritten = asyncio.ensure_future(poller.wait(flag("done"), {flag("done"): "e0"}, TICK))
        await asyncio.sleep(TICK * 10)
        assert not any(t.done() for t in [*waits.values(), rewritten])
        calls_while_quiet = len(bucket.listed)
        assert 3 <= calls_while_quiet <= 12  # about one listing per tick, not one per waiter
        assert set(bucket.listed) == {"approvals/"}
        bucket.objects[flag("item-7")] = "e7"
        bucket.objects[flag("item-70", "step_2_design")] = "other-gate"  # another gate of another item
        bucket.objects[flag("done")] = "e1"
        woken = await asyncio.wait_for(asyncio.gather(waits.pop("item-7"), rewritten), 5)
        await asyncio.sleep(TICK * 3)
        return {"woken": woken}, [t.done() for t in waits.values()]

    result, done = run(scenario())
    assert result["woken"] == [{"status": "ok", "result": {flag("item-7"): "e7"}},
                               {"status": "ok", "result": {flag("done"): "e1"}}]
    assert len(done) == 299 and not any(done)


def test_a_waiter_only_sees_listings_begun_after_it_started_waiting() -> None:
    bucket = FakeBucket({flag("a"): "old"})
    poller = SharedBucketPoller("humas_bucket", "approvals/", bucket.page)

    async def scenario() -> dict:
        other = asyncio.ensure_future(poller.wait(flag("x"), {}, TICK))
        await asyncio.sleep(TICK * 3)
        # The task saw "old" before deferring; an earlier listing showing "old" must not wake it, a new one must.
        waiting = asyncio.ensure_future(poller.wait(flag("a"), {flag("a"): "old"}, TICK))
        await asyncio.sleep(TICK * 5)
        assert not waiting.done()
        bucket.objects[flag("a")] = "new"
        result = await asyncio.wait_for(waiting, 5)
        other.cancel()
        return result

    assert run(scenario()) == {"status": "ok", "result": {flag("a"): "new"}}


def test_an_empty_listing_is_not_a_change() -> None:
    bucket = FakeBucket({flag("a"): "e"})
    poller = SharedBucketPoller("humas_bucket", "approvals/", bucket.page)

    async def scenario() -> bool:
        waiting = asyncio.ensure_future(poller.wait(flag("a"), {flag("a"): "e"}, TICK))
        del bucket.objects[flag("a")]
        await asyncio.sleep(TICK * 8)
        done = waiting.done()
        waiting.cancel()
        return done

    assert run(scenario()) is False


def test_bucket_errors_do_not_end_the_wait_until_they_persist() -> None:
    bucket = FakeBucket()
    poller = SharedBucketPoller("humas_bucket", "approvals/", bucket.page)

    async def scenario() -> dict:
        waiting = asyncio.ensure_future(poller.wait(flag("a"), {}, TICK))
        bucket.failures = MAX_CONSECUTIVE_ERRORS - 1  # a long hiccup, but one short of giving up
        await asyncio.sleep(TICK * (MAX_CONSECUTIVE_ERRORS + 5))
        assert not waiting.done()
        bucket.objects[flag("a")] = "e"
        return await asyncio.wait_for(waiting, 5)

    assert run(scenario()) == {"status": "ok", "result": {flag("a"): "e"}}


def test_an_outage_that_persists_becomes_an_error_for_every_waiter() -> None:
    bucket = FakeBucket()
    bucket.failures = 10_000
    poller = SharedBucketPoller("humas_bucket", "approvals/", bucket.page)

    async def scenario() -> list[dict]:
        return await asyncio.gather(*(poller.wait(flag(f"i{n}"), {}, TICK) for n in range(20)))

    outcomes = run(scenario())
    assert all(o["status"] == "error" and "ConnectionError: bucket unreachable" in o["message"] for o in outcomes)
    # one listing per tick for all twenty, not twenty
    assert len(bucket.listed) <= MAX_CONSECUTIVE_ERRORS + 2


def test_few_waiters_under_a_large_root_list_their_own_prefixes() -> None:
    bucket = FakeBucket({f"inbox/old-{n:05d}/poster.jpg": "e" for n in range(4500)})  # 5 pages
    poller = SharedBucketPoller("humas_bucket", "inbox/", bucket.page)

    async def scenario() -> dict:
        waiting = [asyncio.ensure_future(poller.wait(f"inbox/new-{n}/", {}, TICK)) for n in range(2)]
        await asyncio.sleep(TICK * 6)
        bucket.objects["inbox/new-1/poster.jpg"] = "fixed"
        result = await asyncio.wait_for(waiting[1], 5)
        waiting[0].cancel()
        return result

    assert run(scenario()) == {"status": "ok", "result": {"inbox/new-1/poster.jpg": "fixed"}}
    assert bucket.listed[:5] == ["inbox/"] * 5  # first a look at the whole root (5 pages)...
    assert set(bucket.listed[5:]) <= {"inbox/new-0/", "inbox/new-1/"}  # ...then two cheap listings per tick


def test_a_cancelled_trigger_leaves_the_poller_and_the_poller_stops_when_nobody_waits() -> None:
    bucket = FakeBucket()
    poller = SharedBucketPoller("humas_bucket", "approvals/", bucket.page)

    async def scenario() -> int:
        waiting = asyncio.ensure_future(poller.wait(flag("a"), {}, TICK))
        await asyncio.sleep(TICK * 3)
        waiting.cancel()
        await asyncio.sleep(TICK * 3)
        assert poller.waiting == 0
        calls = len(bucket.listed)
        await asyncio.sleep(TICK * 5)
        return len(bucket.listed) - calls

    assert run(scenario()) == 0


def test_triggers_in_one_loop_share_a_poller_per_connection_and_root() -> None:
    async def scenario() -> None:
        a = shared_poller("humas_bucket", flag("a"))
        assert shared_poller("humas_bucket", flag("b")) is a
        assert shared_poller("humas_bucket", "inbox/a/") is not a
        assert shared_poller("other_bucket", flag("a")) is not a

    run(scenario())


def test_bucket_change_triggers_go_through_the_shared_poller(monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = FakeBucket({flag("b"): "eb"})
    real = SharedBucketPoller.__init__

    def with_fake_bucket(self, aws_conn_id, root, list_page=None):
        real(self, aws_conn_id, root, bucket.page)

    monkeypatch.setattr(SharedBucketPoller, "__init__", with_fake_bucket)

    async def first(trigger: BucketChangeTrigger) -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    async def scenario() -> list[dict]:
        return await asyncio.gather(first(BucketChangeTrigger(flag("a"), {}, "humas_bucket", TICK)),
                                    first(BucketChangeTrigger(flag("b"), {}, "humas_bucket", TICK)))

    async def with_flag_later() -> list[dict]:
        task = asyncio.ensure_future(scenario())
        await asyncio.sleep(TICK * 4)
        bucket.objects[flag("a")] = "ea"
        return await task

    assert run(with_flag_later()) == [{"status": "changed", "objects": {flag("a"): "ea"}},
                                      {"status": "changed", "objects": {flag("b"): "eb"}}]
    assert set(bucket.listed) == {"approvals/"}


def test_the_request_rate_stays_within_budget_for_a_huge_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(triggers, "MAX_LIST_REQUESTS_PER_SECOND", 100.0)
    bucket = FakeBucket({flag(f"old-{n:05d}"): "e" for n in range(10_000)})  # 10 pages per full listing
    poller = SharedBucketPoller("humas_bucket", "approvals/", bucket.page)

    async def scenario() -> None:
        waits = [asyncio.ensure_future(poller.wait(flag(f"new-{n}"), {}, 0.001)) for n in range(50)]
        await asyncio.sleep(0.5)
        for w in waits:
            w.cancel()

    run(scenario())
    pages_per_second = len(bucket.listed) / 0.5
    assert pages_per_second <= 100 * 1.3


def _pages_per_look(keys: int) -> tuple[int, dict]:
    """The most list requests one look sent, with 20 waiters under an inbox of ``keys`` finished files."""
    bucket = FakeBucket({f"inbox/done-{n:06d}/poster.jpg": "e" for n in range(keys)})
    poller = SharedBucketPoller("humas_bucket", "inbox/", bucket.page)
    looks: list[int] = []
    real = poller._deliver

    def counted(waiters: list, results: dict, whole_root: bool) -> None:
        looks.append(len(bucket.listed))
        real(waiters, results, whole_root)

    poller._deliver = counted  # type: ignore[method-assign]

    async def scenario() -> dict:
        waits = [asyncio.ensure_future(poller.wait(f"inbox/new-{n}/", {}, TICK)) for n in range(20)]
        await asyncio.sleep(TICK * 3)
        bucket.objects["inbox/new-7/poster.jpg"] = "delivered"
        result = await asyncio.wait_for(waits[7], 5)
        for w in waits:
            w.cancel()
        return result

    result = run(scenario())
    return max(b - a for a, b in zip([0, *looks], looks)), result


def test_a_look_costs_the_same_few_requests_however_many_finished_items_the_root_holds() -> None:
    small_cost, small = _pages_per_look(500)        # one page
    large_cost, large = _pages_per_look(20_000)     # twenty pages: read a few a look
    assert small == large == {"status": "ok", "result": {"inbox/new-7/poster.jpg": "delivered"}}
    assert small_cost == 1
    assert large_cost == triggers.MAX_REQUESTS_PER_LOOK


def test_a_waiter_that_joins_mid_round_is_not_woken_by_what_the_round_read_before() -> None:
    early = "inbox/a-item/poster.jpg"  # on the first page
    bucket = FakeBucket({early: "old", **{f"inbox/done-{n:06d}/poster.jpg": "e" for n in range(9_000)}})
    poller = SharedBucketPoller("humas_bucket", "inbox/", bucket.page)

    async def scenario() -> dict:
        others = [asyncio.ensure_future(poller.wait(f"inbox/new-{n}/", {}, TICK)) for n in range(10)]
        while len(bucket.listed) < 2:  # the round has read the first page: "old"
            await asyncio.sleep(TICK / 4)
        bucket.objects[early] = "new"
        waiting = asyncio.ensure_future(poller.wait("inbox/a-item/", {early: "new"}, TICK))  # the step saw "new"
        rounds = poller._rounds
        while poller._rounds < rounds + 2:
            await asyncio.sleep(TICK / 4)
        assert not waiting.done()  # neither the round it joined (which read "old") nor the next woke it
        bucket.objects[early] = "newer"
        result = await asyncio.wait_for(waiting, 5)
        for w in others:
            w.cancel()
        return result

    assert run(scenario()) == {"status": "ok", "result": {early: "newer"}}
