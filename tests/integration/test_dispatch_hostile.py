"""One bad item never holds up the others: the hostile brief corpus beside good items in a real S3 bucket."""
from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any, Iterable

import pytest
from botocore.exceptions import ClientError

from claims import submit_brief
from brief_corpus import GOOD, check_problem_words, corpus
from fake_run_starter import FakeRunStarter
from humas import dispatch, layout, status
from humas.brief import MAX_BRIEF_BYTES
from humas.store import Store
from s3_requests import SentRequests

pytestmark = pytest.mark.integration

GOOD_ITEMS = ("a-good", "z-good")


def _hostile_id(name: str) -> str:
    return f"hostile-{name}"


def _drop(store: Store, item_id: str, brief: bytes) -> None:
    store.put_bytes(layout.asset_key(item_id, "poster.jpg"), b"\xff\xd8 not really a jpeg", "image/jpeg")
    submit_brief(store, item_id, brief, "application/yaml")


def _inbox(store: Store) -> dict[str, str]:
    return {o.key: hashlib.sha256(store.get_bytes(o.key) or b"").hexdigest() for o in store.list(layout.INBOX)}


@pytest.fixture()
def dag_ids(sops) -> dict[str, str]:
    return {sop_id: sop.dag_id for sop_id, sop in sops.items()}


def _fill(store: Store, names: Iterable[str]) -> Store:
    """The bucket with the named hostile briefs and two good items."""
    for name in names:
        _drop(store, _hostile_id(name), corpus()[name])
    for item_id in GOOD_ITEMS:
        _drop(store, item_id, GOOD)
    return store


@pytest.fixture()
def filled(store: Store) -> Store:
    """The whole hostile corpus and two good items."""
    return _fill(store, corpus())


@pytest.fixture()
def some(store: Store) -> Store:
    """A few of the worst hostile briefs and two good items (quicker, for the tests of what follows)."""
    return _fill(store, ["huge-number-title", "placements-list-value", "laughs-10-levels", "caption-10-mb"])


class _Spy(Store):
    """The real store, noting every read of a brief (key, max_bytes) and failing on the keys in ``broken``."""

    def __init__(self, store: Store, broken: tuple[str, ...] = ()) -> None:
        super().__init__(store.client, store.bucket)
        self.brief_reads: list[tuple[str, int | None]] = []
        self.broken = broken

    def _maybe_fail(self, key: str) -> None:
        if any(key.startswith(prefix) for prefix in self.broken):
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "GetObject")

    def get_bytes(self, key: str, max_bytes: int | None = None) -> bytes | None:
        self._maybe_fail(key)
        if key.endswith(layout.BRIEF_NAME):
            self.brief_reads.append((key, max_bytes))
        return super().get_bytes(key, max_bytes)

    def head(self, key: str) -> Any:
        self._maybe_fail(key)
        return super().head(key)


def test_good_items_start_and_every_hostile_one_is_refused_for_staff(filled: Store, sops, channels, dag_ids) -> None:
    before = _inbox(filled)
    spy = _Spy(filled)

    decisions = dispatch.actionable_items(spy, sops, channels)
    airflow = FakeRunStarter()
    outcomes = dispatch.start_item_runs(spy, decisions, dag_ids, airflow)

    actions = {d.item_id: d.action for d in decisions}
    assert actions == {**{i: "start" for i in GOOD_ITEMS}, **{_hostile_id(n): "refuse" for n in corpus()}}
    assert outcomes == {**{i: "created" for i in GOOD_ITEMS}, **{_hostile_id(n): "refused" for n in corpus()}}
    assert airflow.calls == {f"item__{i}": 1 for i in GOOD_ITEMS}
    assert {key for key, _ in spy.brief_reads} == {layout.brief_key(i) for i in actions}
    assert {limit for _, limit in spy.brief_reads} == {MAX_BRIEF_BYTES + 1}  # a 10 MB brief is never fetched
    for name in corpus():
        item_id = _hostile_id(name)
        rejection = filled.get_json(layout.refusal_key(item_id))
        problems = [SimpleNamespace(**p) for p in rejection["problems"]]
        check_problem_words(problems)
        assert rejection["brief_etag"] == filled.head(layout.brief_key(item_id)).etag
        assert "ditolak" in rejection["message"] and len(rejection["message"]) < 6000
        item_status = status.read_status(filled, item_id)
        assert item_status["state"] == "refused" and len(item_status["details"]["problems"]) == len(problems)
        assert not filled.exists(layout.dispatch_key("requested", item_id))
    for item_id in GOOD_ITEMS:
        assert status.read_status(filled, item_id)["state"] == "received"
    assert _inbox(filled) == before  # originals are never modified or deleted


def test_refused_items_are_not_read_again_until_their_brief_changes(some: Store, sops, channels, dag_ids) -> None:
    dispatch.start_item_runs(some, dispatch.actionable_items(some, sops, channels), dag_ids, FakeRunStarter())
    assert dispatch.InboxWatch().pending_items(some) == []

    fixed = _hostile_id("placements-list-value")
    submit_brief(some, fixed, GOOD + b"placements: {instagram: story}\n", "application/yaml")
    assert dispatch.InboxWatch().pending_items(some) == [fixed]
    (decision,) = dispatch.actionable_items(some, sops, channels)
    assert (decision.item_id, decision.action) == (fixed, "start")
    assert decision.brief.placements == {"instagram": "story"}


def test_a_poll_sends_listings_only_however_many_items_were_refused(some: Store, sops, channels, dag_ids) -> None:
    dispatch.start_item_runs(some, dispatch.actionable_items(some, sops, channels), dag_ids, FakeRunStarter())
    watch = dispatch.InboxWatch()
    watch.pending_items(some)  # reads each new refusal record once
    _drop(some, "m-new", GOOD)  # something new: the watch looks at its records
    with SentRequests(some) as sent:
        assert watch.pending_items(some) == ["m-new"]
    # one listing of inbox/ and a look at each of the new item's 3 records: no read per refused item
    assert len(sent) == 4 and "list-type=2" in sent[0], sent
    assert all("m-new" in url for url in sent[1:]), sent


def test_an_empty_brief_is_refused_not_a_bucket_error(store: Store, sops, channels) -> None:
    _drop(store, "kosong", b"")
    decision = dispatch.assess_item(store, "kosong", sops, channels)
    assert decision.action == "refuse" and decision.problems[0].field == "(top level)"


def test_a_bucket_error_on_one_item_makes_only_that_item_wait(some: Store, sops, channels, dag_ids) -> None:
    broken = layout.item_prefix("a-good")
    spy = _Spy(some, broken=(broken,))
    decision = dispatch.assess_item(spy, "a-good", sops, channels)
    assert decision.action == "wait" and "SlowDown" in decision.reason

    decisions = dispatch.actionable_items(spy, sops, channels)
    assert "a-good" not in {d.item_id for d in decisions}
    airflow = FakeRunStarter()
    dispatch.start_item_runs(spy, decisions, dag_ids, airflow)
    assert list(airflow.runs) == ["item__z-good"]
    assert status.read_status(some, "a-good") is None
    # once the bucket answers again, the item that waited is started
    assert dispatch.InboxWatch().pending_items(some) == ["a-good"]
    assert [d.action for d in dispatch.actionable_items(some, sops, channels)] == ["start"]


def test_an_unreadable_rejection_record_makes_the_item_be_assessed_again(store: Store, sops, channels,
                                                                         dag_ids) -> None:
    _drop(store, "b-bad", corpus()["list-as-title"])
    dispatch.start_item_runs(store, dispatch.actionable_items(store, sops, channels), dag_ids, FakeRunStarter())
    assert dispatch.InboxWatch().pending_items(store) == []
    store.put_bytes(layout.dispatch_key("refused", "b-bad"), b"\xff not json")
    assert dispatch.InboxWatch().pending_items(store) == ["b-bad"]
    store.put_bytes(layout.dispatch_key("refused", "b-bad"), b"[1, 2]")
    assert dispatch.InboxWatch().pending_items(store) == ["b-bad"]


def test_an_unexpected_error_while_validating_refuses_that_item_only(store: Store, sops, channels, dag_ids) -> None:
    """A SOP object the brief check trips over (here: steps that are not steps) refuses the item in Bahasa."""
    broken_sops = {**sops, "kendal": SimpleNamespace(steps=[object()], labels={})}
    _drop(store, "a-good", GOOD)
    _drop(store, "b-kendal", GOOD.replace(b"sop: singkawang", b"sop: kendal"))

    decisions = dispatch.actionable_items(store, broken_sops, channels)

    assert [(d.item_id, d.action) for d in decisions] == [("a-good", "start"), ("b-kendal", "refuse")]
    (problem,) = decisions[1].problems
    assert problem.field == "brief.yaml" and "AttributeError" in problem.message
    check_problem_words([problem])
    assert decisions[1].brief_etag == store.head(layout.brief_key("b-kendal")).etag


def test_a_decision_that_cannot_be_recorded_does_not_stop_the_others(store: Store, sops, channels,
                                                                      dag_ids) -> None:
    _drop(store, "a-good", GOOD)  # its SOP has no DAG below (e.g. a SOP file that failed to load)
    _drop(store, "b-kendal", GOOD.replace(b"sop: singkawang", b"sop: kendal").replace(b"skw.ayu", b"kdl.dewi")
          + b"event_date: 2026-12-01\n")
    decisions = dispatch.actionable_items(store, sops, channels)
    assert [d.action for d in decisions] == ["start", "start"]

    airflow = FakeRunStarter()
    outcomes = dispatch.start_item_runs(store, decisions, {k: v for k, v in dag_ids.items() if k != "singkawang"},
                                        airflow)

    assert outcomes == {"a-good": "failed: KeyError: 'singkawang'", "b-kendal": "created"}
    assert list(airflow.runs) == ["item__b-kendal"]
    assert not store.exists(layout.dispatch_key("requested", "a-good"))
    assert dispatch.InboxWatch().pending_items(store) == ["a-good"]  # asked again at the next look
