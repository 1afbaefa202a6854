"""Triggers: small async waits on the bucket, run by the triggerer without a worker slot."""
from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

from asgiref.sync import sync_to_async
from airflow.triggers.base import BaseTrigger, TriggerEvent

from humas.dispatch import InboxWatch, actionable_items, start_item_runs
from humas.notify import send_pending
from humas.profiles import channel_ids
from humas.sop import available_sops

if TYPE_CHECKING:
    from humas.store import Store

# A wait may last days: ride out a short bucket outage, report a long one.
MAX_CONSECUTIVE_ERRORS = 12
# How often the dispatcher's watch sends the notices a crashed sender left unclaimed (``send_pending``).
OUTBOX_SWEEP_INTERVAL = 60.0
# The sweep waits this long at most for a chat's rate limit before sending to it again (Telegram asks about a
# second per chat, WhatsApp about six); a longer wait leaves the notice to a later sweep.
SWEEP_WAITS_FOR_A_CHAT = 10.0


async def poll_until(probe: Callable[[], Any], ready: Callable[[Any], bool], poll_interval: float,
                     log: Any, max_wait: float | None = None) -> dict[str, Any]:
    """Call ``probe`` (blocking, run in a thread) until ``ready(result)``; return the result, an error, or
    ``{"status": "idle"}`` once ``max_wait`` seconds have passed."""
    errors, deadline = 0, (time.monotonic() + max_wait) if max_wait else None
    while deadline is None or time.monotonic() < deadline:
        try:
            result = await asyncio.to_thread(probe)  # not asgiref's one shared thread: see SharedBucketPoller
            errors = 0
        except Exception as exc:  # a bucket hiccup must not end a days-long wait at once
            errors += 1
            log.warning("bucket poll failed (%d in a row): %s", errors, exc)
            if errors >= MAX_CONSECUTIVE_ERRORS:
                return {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
        else:
            if ready(result):
                return {"status": "ok", "result": result}
        await asyncio.sleep(poll_interval)
    return {"status": "idle"}


# One shared listing serves every waiter under a root; it polls at most this often (or at the shortest
# poll_interval of its waiters, if that is shorter), and slows down before it sends more than
# MAX_LIST_REQUESTS_PER_SECOND list requests a second.
SHARED_POLL_INTERVAL = 1.0
MAX_LIST_REQUESTS_PER_SECOND = 10.0
# A look sends at most this many list requests: a root larger than that (an inbox of thousands of finished
# items) is read this many pages a look, going on where the last look stopped, so its waiters are woken once
# the round ends and what finished items cost per look does not grow with their number.
MAX_REQUESTS_PER_LOOK = 4
_LIST_PAGE_SIZE = 1000  # keys per ListObjectsV2 page (S3 and MinIO)

log = logging.getLogger(__name__)

ListPage = Callable[[str, str], tuple[dict[str, str], bool]]  # (prefix, start after) -> (key -> ETag, more)


def prefix_root(prefix: str) -> str:
    """The top folder of a key prefix (``approvals/``, ``inbox/``): what one shared listing covers."""
    head, sep, _ = prefix.partition("/")
    return head + sep


@dataclass(eq=False)
class _Waiter:
    prefix: str
    seen: dict[str, str]
    interval: float
    future: asyncio.Future
    joined: int = 0  # rounds of the root begun when it started waiting: it sees only later rounds
    errors: int = 0


class SharedBucketPoller:
    """Lists one root of the bucket for every trigger waiting under it in this triggerer process.

    Triggers in one triggerer share an event loop, so 500 gates waiting on ``approvals/<item>/<gate>.json``
    cost one listing of ``approvals/`` per interval instead of 500 requests. When a few waiters sit under a
    large root, listing their own prefixes is cheaper and the poller does that instead; when many wait under
    a root of many pages, it reads ``MAX_REQUESTS_PER_LOOK`` pages a look and wakes them when a round of the
    root ends. Either way a waiter sees exactly what listing its own prefix would show, only from listings
    begun after it started waiting, and it gets an error only after ``MAX_CONSECUTIVE_ERRORS`` failed
    listings in a row (as ``poll_until``).
    """

    def __init__(self, aws_conn_id: str, root: str, list_page: ListPage | None = None) -> None:
        self.aws_conn_id, self.root = aws_conn_id, root
        self._page = list_page or self._bucket_page
        self._store: Any = None
        self._waiters: set[_Waiter] = set()
        self._task: asyncio.Task | None = None
        self._root_pages = 1  # pages the last whole round of the root took
        self._rounds = 0  # rounds of the root begun
        self._cursor: str | None = None  # the round goes on after this key; None: no round under way
        self._round: dict[str, str] = {}  # what the round under way has read
        self.requests = 0  # list requests sent so far (for tests and benchmarks)

    async def wait(self, prefix: str, seen: dict[str, str], interval: float) -> dict[str, Any]:
        """Wait until the objects under ``prefix`` are non-empty and differ from ``seen``.

        Returns ``{"status": "ok", "result": listing}`` or ``{"status": "error", "message": ...}``.
        """
        loop = asyncio.get_running_loop()
        waiter = _Waiter(prefix, dict(seen), interval, loop.create_future(), self._rounds)
        self._waiters.add(waiter)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        try:
            return await waiter.future
        finally:
            self._waiters.discard(waiter)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def _run(self) -> None:
        while self._waiters:
            waiters = [w for w in self._waiters if not w.future.done()]
            prefixes = sorted({w.prefix for w in waiters})
            whole_root = len(prefixes) >= self._root_pages or len(prefixes) > MAX_REQUESTS_PER_LOOK
            if not whole_root:
                self._cursor = None  # a round begun earlier would be stale when taken up again
            elif self._cursor is None:
                self._cursor, self._round, self._rounds = "", {}, self._rounds + 1
            try:
                # A thread of the loop's pool: asgiref's sync_to_async runs every caller in one shared thread,
                # where hundreds of deadline callbacks firing at once held the listing back for half a minute.
                results, sent = await asyncio.to_thread(self._read_root if whole_root else self._probe, prefixes)
            except Exception as exc:  # never let the shared loop die: every waiter would hang
                results, sent = {p: exc for p in [self.root, *prefixes]}, 1
            self._deliver(waiters, results, whole_root)
            shortest = min([SHARED_POLL_INTERVAL, *(w.interval for w in waiters)])
            await asyncio.sleep(max(shortest, sent / MAX_LIST_REQUESTS_PER_SECOND))

    def _probe(self, prefixes: list[str]) -> tuple[dict[str, dict[str, str] | Exception], int]:
        results: dict[str, dict[str, str] | Exception] = {}
        sent = self.requests
        for prefix in prefixes:
            try:
                results[prefix] = self._list(prefix)
            except Exception as exc:  # reported per waiter; a hiccup must not end a days-long wait
                results[prefix] = exc
                self._store = None  # rebuild the client: the connection may have changed
        return results, self.requests - sent

    def _list(self, prefix: str) -> dict[str, str]:
        found, after, more = {}, "", True
        while more:
            page, more = self._counted_page(prefix, after)
            found.update(page)
            after = max(page, default=after)
        return found

    def _read_root(self, _: list[str]) -> tuple[dict[str, dict[str, str] | Exception], int]:
        """Up to ``MAX_REQUESTS_PER_LOOK`` pages of the round under way; the root's listing when it ended."""
        for sent in range(1, MAX_REQUESTS_PER_LOOK + 1):
            try:
                page, more = self._counted_page(self.root, self._cursor or "")
            except Exception as exc:  # the same page is asked again at the next look
                self._store = None
                return {self.root: exc}, sent
            self._round.update(page)
            self._cursor = max(page, default=self._cursor)
            if not more:
                found, self._cursor = self._round, None
                self._root_pages = max(1, -(-len(found) // _LIST_PAGE_SIZE))
                return {self.root: found}, sent
        return {}, MAX_REQUESTS_PER_LOOK

    def _counted_page(self, prefix: str, after: str) -> tuple[dict[str, str], bool]:
        self.requests += 1
        return self._page(prefix, after)

    def _deliver(self, waiters: list[_Waiter], results: dict[str, dict[str, str] | Exception],
                 whole_root: bool) -> None:
        """Wake the waiters whose objects changed (with the root: those waiting since before its round)."""
        root = results.get(self.root)
        if whole_root and not results:
            return  # a round of the root is under way
        for exc in {id(r): r for r in results.values() if isinstance(r, Exception)}.values():
            log.warning("bucket listing under %s failed: %s", self.root, exc)
        for w in waiters:
            if whole_root and isinstance(root, dict) and w.joined >= self._rounds:
                continue  # it started waiting after this round began
            found = root if whole_root else results.get(w.prefix)
            if isinstance(found, Exception) or found is None:
                w.errors += 1
                if w.errors >= MAX_CONSECUTIVE_ERRORS and not w.future.done():
                    w.future.set_result({"status": "error", "message": f"{type(found).__name__}: {found}"})
                continue
            w.errors = 0
            now = {k: v for k, v in found.items() if k.startswith(w.prefix)} if whole_root else found
            if now and now != w.seen and not w.future.done():
                w.future.set_result({"status": "ok", "result": now})

    def store(self) -> "Store":
        """The bucket's client this poller lists with (made once: a client costs more than the requests of a
        reminder), for the waits' own work too; made again after a failed listing."""
        if self._store is None:
            from humas_airflow.hooks import HumasBucketHook

            self._store = HumasBucketHook(self.aws_conn_id).get_store()
        return self._store

    def _bucket_page(self, prefix: str, after: str) -> tuple[dict[str, str], bool]:
        objects, more = self.store().list_after(prefix, after, _LIST_PAGE_SIZE)
        return {obj.key: obj.etag for obj in objects}, more


# event loop -> (connection, root) -> its poller; a loop's pollers go with it
_POLLERS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], SharedBucketPoller]]" = (
    weakref.WeakKeyDictionary())


def shared_poller(aws_conn_id: str, prefix: str) -> SharedBucketPoller:
    """The poller of this event loop that covers ``prefix`` in the bucket of ``aws_conn_id``."""
    pollers = _POLLERS.setdefault(asyncio.get_running_loop(), {})
    key = (aws_conn_id, prefix_root(prefix))
    if key not in pollers:
        pollers[key] = SharedBucketPoller(aws_conn_id, key[1])
    return pollers[key]


class BucketChangeTrigger(BaseTrigger):
    """Waits until the objects under ``prefix`` differ from ``seen`` (key -> ETag); yields the new listing.

    Used for an approver's flag (one key, not there yet or rewritten) and for a corrected asset (the item
    folder's listing changes). With ``wake_at`` it yields ``wake`` at that moment if nothing changed before
    (the step looks again). With ``remind`` as well (the item, its SOP step, and since when it waits for its
    people) a due reminder or miss is sent from here and the wait goes on (``humas.notify.remind_or_escalate``,
    once per wait however often it runs); a reminder that cannot be made here wakes the step to make it.
    Every such trigger in a triggerer shares one listing per interval (``SharedBucketPoller``), so a wait costs
    next to nothing however many items wait.
    """

    def __init__(self, prefix: str, seen: dict[str, str], aws_conn_id: str, poll_interval: float = 5.0,
                 wake_at: str | None = None, remind: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.prefix = prefix
        self.seen = seen
        self.aws_conn_id = aws_conn_id
        self.poll_interval = poll_interval
        self.wake_at = wake_at  # ISO moment: yield ``wake`` then if nothing changed (the step looks again)
        self.remind = remind    # {"item_id", "sop_id", "step_number", "since", "title"}: remind from here instead

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"prefix": self.prefix, "seen": self.seen, "aws_conn_id": self.aws_conn_id,
                 "poll_interval": self.poll_interval, "wake_at": self.wake_at, "remind": self.remind})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        wake_at, poller = self.wake_at, shared_poller(self.aws_conn_id, self.prefix)
        reminded = False  # this trigger made the wait's reminder (a restarted one makes it again: nothing twice)
        while True:
            try:
                outcome = await asyncio.wait_for(poller.wait(self.prefix, self.seen, self.poll_interval),
                                                 _seconds_until(wake_at))
            except TimeoutError:
                outcome = {"status": "wake"}
            except Exception as exc:  # any failure becomes an error event, never a silent end
                outcome = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
            if outcome["status"] == "wake" and self.remind:
                try:
                    # poller.store, not poller.store(): making the client reads the connection, which in the
                    # triggerer waits on this very event loop (a call from the loop deadlocks it)
                    wake_at, reminded = await asyncio.to_thread(self._remind_or_escalate, poller.store, reminded)
                    continue
                except Exception:  # noqa: BLE001 - the step itself looks again and reports what is wrong
                    log.warning("reminder for %s could not be sent from the triggerer; waking the step",
                                self.remind.get("item_id"), exc_info=True)
            if outcome["status"] == "ok":
                yield TriggerEvent({"status": "changed", "objects": outcome["result"]})
            else:
                yield TriggerEvent(outcome)
            return

    def _remind_or_escalate(self, store_of: Callable[[], "Store"], reminded: bool) -> tuple[str | None, bool]:
        """Send what is due for the waiting step (``reminded``: its reminder is made already, by this trigger);
        when to look again (ISO, None when nothing is ahead) and whether the reminder is made now. Runs in a
        thread of its own (``store_of`` too)."""
        from humas import notify
        from humas.steps.base import ItemStep

        from humas_airflow.notifiers import NotifierTransport

        sop = available_sops()[self.remind["sop_id"]]
        item = ItemStep(store_of(), self.remind["item_id"], sop, sop.steps[self.remind["step_number"] - 1],
                        transport=NotifierTransport(), rerun_until_sent=True, title_read=self.remind.get("title", ""))
        since, now = datetime.fromisoformat(self.remind["since"]), notify.utcnow()
        next_at = notify.remind_or_escalate(item, since, now, reminded)
        remind_at = notify.reminder_due(item.step, since)
        return (next_at.isoformat() if next_at else None), reminded or (remind_at is not None and now >= remind_at)


def _seconds_until(moment: str | None) -> float | None:
    if moment is None:
        return None
    return max((datetime.fromisoformat(moment) - datetime.now(timezone.utc)).total_seconds(), 0.0)


def max_items_per_poll() -> int:
    """At most Airflow's ``[core] max_map_length`` items per poll (one poll's work stays bounded); the rest
    are started by the next poll."""
    from airflow.sdk.configuration import conf

    return conf.getint("core", "max_map_length", fallback=1024)


class InboxDispatchTrigger(BaseTrigger):
    """The dispatcher: watches the inbox and starts each new item's run, or refuses its brief, as soon as it sees it.

    It goes on for hours in the triggerer, so no drop falls in a gap between one dispatcher task and the next,
    and a run starts within about one ``poll_interval`` of its brief landing. It decides items as the bucket
    webhook does (``humas.dispatch``), with the item's run id: Airflow's 409 keeps one run per item. Each
    item's outcome goes to the log (the dispatcher task's log in the UI). It yields ``idle`` with the counts
    after ``max_wait`` seconds, so the dispatcher's run ends green and the next run takes over; ``failed``
    as soon as a run could not be asked for (the dispatcher run goes red; the item is asked for again within
    minutes), and ``error`` when the bucket stays unreachable. Meanwhile, every ``OUTBOX_SWEEP_INTERVAL``, it
    sends the notices a crashed step or callback left unsent (never a channel already claimed).
    """

    def __init__(self, aws_conn_id: str, api_conn_id: str, poll_interval: float = 2.0,
                 max_wait: float = 6 * 3600) -> None:
        super().__init__()
        self.aws_conn_id, self.api_conn_id = aws_conn_id, api_conn_id
        self.poll_interval = poll_interval
        self.max_wait = max_wait
        self._store: Any = None
        self._inbox = InboxWatch()
        self._counts: Counter[str] = Counter()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"aws_conn_id": self.aws_conn_id, "api_conn_id": self.api_conn_id,
                 "poll_interval": self.poll_interval, "max_wait": self.max_wait})

    def _dispatch_new_items(self) -> dict[str, str]:
        """Decide every actionable item and start the runs; item id -> outcome (``start_item_runs``)."""
        from humas_airflow.hooks import AirflowApiHook, HumasBucketHook

        if self._store is None:
            self._store = HumasBucketHook(self.aws_conn_id).get_store()
        try:
            sops = available_sops()
            decisions = actionable_items(self._store, sops, channel_ids(), watch=self._inbox)
        except Exception:
            self._store = None  # rebuild the client on the next poll
            raise
        if not decisions:
            return {}
        limit = max_items_per_poll()
        if len(decisions) > limit:
            self.log.info("%d items to dispatch; %d now, the rest in the next poll", len(decisions), limit)
        dag_ids = {sop_id: sop.dag_id for sop_id, sop in sops.items()}
        outcomes = start_item_runs(self._store, decisions[:limit], dag_ids,
                                   AirflowApiHook(self.api_conn_id).run_starter())
        for item_id, outcome in outcomes.items():
            (self.log.warning if outcome.startswith(("failed", "refused")) else self.log.info)(
                "item %s: %s", item_id, outcome)
            self._counts[outcome.partition(":")[0]] += 1
        return outcomes

    def _send_pending_notices(self) -> int:
        """Notices whose sender died before claiming every channel (``humas.notify.send_pending``)."""
        from humas_airflow.hooks import HumasBucketHook
        from humas_airflow.notifiers import NotifierTransport

        return send_pending(HumasBucketHook(self.aws_conn_id).get_store(), NotifierTransport(SWEEP_WAITS_FOR_A_CHAT))

    async def _outbox_sweeps(self) -> None:
        """While the inbox is watched (the dispatcher always runs), send the notices nobody finished sending."""
        while True:
            await asyncio.sleep(OUTBOX_SWEEP_INTERVAL)
            try:
                sent = await asyncio.to_thread(self._send_pending_notices)
            except Exception as exc:  # the inbox watch goes on; the next sweep tries again
                self.log.warning("sending pending notices failed: %s: %s", type(exc).__name__, exc)
            else:
                if sent:
                    self.log.info("sent %d pending notices (their sender had stopped)", sent)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        def any_failed(outcomes: dict[str, str]) -> bool:
            return any(o.startswith("failed") for o in outcomes.values())

        sweeps = asyncio.get_running_loop().create_task(self._outbox_sweeps())
        try:
            outcome = await poll_until(self._dispatch_new_items, any_failed, self.poll_interval, self.log,
                                       self.max_wait)
        finally:
            sweeps.cancel()
        if outcome["status"] == "ok":
            failed = {i: o for i, o in outcome["result"].items() if o.startswith("failed")}
            yield TriggerEvent({"status": "failed", "items": failed, "counts": dict(self._counts)})
        else:
            yield TriggerEvent({**outcome, "counts": dict(self._counts)})


class RerunFromTrigger(BaseTrigger):
    """Sends a run back to ``to_task_id`` (that task and everything after it run again) through Airflow's API.

    It runs in the triggerer while the asking task is deferred, so the clear finds that task deferred, not
    running, and clears it cleanly along with the rest. Airflow may start this trigger again after the clear
    (the cleared task still names it), so it clears only while the asking task is still deferred in the try
    that asked (``from_task_id``, ``from_try``); its event only matters if the clear failed.
    """

    def __init__(self, dag_id: str, run_id: str, to_task_id: str, note: str, api_conn_id: str,
                 from_task_id: str, from_try: int) -> None:
        super().__init__()
        # not ``task_id``: BaseTrigger sets that to the deferring task's own id in the triggerer
        self.dag_id, self.run_id, self.to_task_id = dag_id, run_id, to_task_id
        self.note, self.api_conn_id = note, api_conn_id
        self.from_task_id, self.from_try = from_task_id, from_try

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"dag_id": self.dag_id, "run_id": self.run_id, "to_task_id": self.to_task_id, "note": self.note,
                 "api_conn_id": self.api_conn_id, "from_task_id": self.from_task_id, "from_try": self.from_try})

    def _rerun(self) -> list[str]:
        from humas_airflow.hooks import AirflowApiHook

        hook = AirflowApiHook(self.api_conn_id)
        if hook.task_state(self.dag_id, self.run_id, self.from_task_id) != ("deferred", self.from_try):
            return []  # already sent back by an earlier start of this trigger
        cleared = hook.rerun_from(self.dag_id, self.run_id, self.to_task_id, self.note)
        try:  # the cleared step starts at once instead of in the run's turn (see run_app)
            hook.schedule_next(self.dag_id, self.run_id)
        except Exception as exc:
            self.log.warning("run %s sent back; the scheduler gets to it in its turn (%s)", self.run_id, exc)
        return cleared

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            cleared = await sync_to_async(self._rerun)()
        except Exception as exc:  # becomes a clear error in the task, which then fails loudly
            yield TriggerEvent({"status": "error", "message": f"{type(exc).__name__}: {exc}"})
            return
        yield TriggerEvent({"status": "not_cleared", "cleared": cleared})
