"""The dispatcher's sweep of the inbox (issue 19 item 4): settled items cost no request of their own, and still
every item gets exactly one run, and every late write (a new folder anywhere in key order, a fixed brief or a
missing file in a refused folder, a folder larger than a page) is seen within one round of the inbox."""
from __future__ import annotations

import logging
from typing import Any

import pytest
import yaml

from claims import submit_brief
from fake_run_starter import FakeRunStarter
from humas import dispatch, layout
from humas.store import Store
from s3_requests import SentRequests

pytestmark = pytest.mark.integration

PAGE = 5  # keys per look: a handful of items already span several pages


def _brief(**overrides: Any) -> bytes:
    fields: dict[str, Any] = {"title": "HUT Kota", "caption": "Selamat #Singkawang", "channels": ["facebook"],
                              "sop": "singkawang", "assets": ["poster.jpg"], "submitter": "skw.ayu"}
    return yaml.safe_dump({**fields, **overrides}, allow_unicode=True).encode()


def _drop(store: Store, item_id: str, brief: bytes | None = None, assets: tuple[str, ...] = ("poster.jpg",)) -> None:
    for name in assets:
        store.put_bytes(layout.asset_key(item_id, name), b"\xff\xd8 " + name.encode(), "image/jpeg")
    if brief is not None:
        submit_brief(store, item_id, brief)


def _started(store: Store, item_id: str) -> None:
    _drop(store, item_id, _brief())
    store.put_json(layout.dispatch_key("started", item_id), {"item_id": item_id})


class Dispatcher:
    """The dispatcher's loop as the trigger runs it: decide, record and start, look after look."""

    def __init__(self, store: Store, sops: Any, channels: Any) -> None:
        self.store, self.sops, self.channels = store, sops, channels
        self.watch = dispatch.InboxWatch(sweep_keys=PAGE)
        self.runs = FakeRunStarter()
        self.outcomes: list[tuple[str, str]] = []

    def look(self) -> list[str]:
        decisions = dispatch.actionable_items(self.store, self.sops, self.channels, watch=self.watch)
        dag_ids = {sop_id: sop.dag_id for sop_id, sop in self.sops.items()}
        outcomes = dispatch.start_item_runs(self.store, decisions, dag_ids, self.runs)
        self.outcomes += outcomes.items()
        return list(outcomes)

    def round(self) -> list[str]:
        """Looks enough to pass the whole inbox once more (its keys / PAGE, and one to spare)."""
        keys = sum(1 for _ in self.store.list(layout.INBOX))
        return [item for _ in range(keys // PAGE + 2) for item in self.look()]


def test_a_steady_look_is_one_request_however_many_items_are_settled(store: Store, sops, channels) -> None:
    for n in range(12):
        _started(store, f"done-{n:02d}")
    dispatcher = Dispatcher(store, sops, channels)
    assert dispatcher.look() == []  # the first look reads the whole inbox and learns every item is started
    for _ in range(8):  # more than one round of the 24 keys
        with SentRequests(store) as sent:
            assert dispatcher.look() == []
        assert len(sent) == 1 and "list-type=2" in sent[0] and f"max-keys={PAGE}" in sent[0], sent


def test_every_item_gets_exactly_one_run_while_drops_land_before_and_after_the_sweep(store: Store, sops,
                                                                                       channels) -> None:
    for n in range(0, 20, 2):
        _drop(store, f"item-{n:02d}", _brief())
    dispatcher = Dispatcher(store, sops, channels)
    assert sorted(dispatcher.look()) == [f"item-{n:02d}" for n in range(0, 20, 2)]
    for n in range(1, 20, 2):  # between the items already started, on both sides of wherever the sweep is
        _drop(store, f"item-{n:02d}", _brief())
        dispatcher.look()
    dispatcher.round()
    dispatcher.round()
    assert sorted(dispatcher.runs.runs) == [layout.run_id_for(f"item-{n:02d}") for n in range(20)]
    assert set(dispatcher.runs.calls.values()) == {1}
    assert sorted(item for item, _ in dispatcher.outcomes) == [f"item-{n:02d}" for n in range(20)]


def test_a_refused_brief_rewritten_behind_the_sweep_is_decided_again_within_a_round(store: Store, sops,
                                                                                    channels) -> None:
    for n in range(6):
        _started(store, f"b-done-{n}")
    _drop(store, "a-refused", _brief(sop="tidak_ada"))
    dispatcher = Dispatcher(store, sops, channels)
    assert dispatcher.look() == ["a-refused"]
    assert dispatcher.outcomes == [("a-refused", "refused")]
    assert dispatcher.round() == []  # refused and unchanged: not decided again
    submit_brief(store, "a-refused", _brief())  # staff fix it, wherever the sweep is now
    assert dispatcher.round() == ["a-refused"]
    assert dispatcher.outcomes[-1] == ("a-refused", "created")
    assert dispatcher.runs.calls[layout.run_id_for("a-refused")] == 1


def test_a_missing_file_that_arrives_after_the_refusal_is_seen_within_a_round(store: Store, sops, channels) -> None:
    for n in range(6):
        _started(store, f"b-done-{n}")
    _drop(store, "a-late", _brief(assets=["poster.jpg", "story.jpg"]))
    dispatcher = Dispatcher(store, sops, channels)
    dispatcher.look()  # waits for story.jpg: nothing to do per look while it waits
    late = dispatch.assess_item(store, "a-late", sops, channels,
                                now=dispatch.utcnow() + dispatch.MISSING_ASSET_GRACE * 2)
    dispatch.record_refusal(store, late)
    dispatcher.watch = dispatch.InboxWatch(sweep_keys=PAGE)  # a restarted dispatcher finds it refused
    assert dispatcher.round() == []
    _drop(store, "a-late", None, assets=("story.jpg",))  # then `humas submit` again, as the refusal says
    submit_brief(store, "a-late", _brief(assets=["poster.jpg", "story.jpg"]))
    assert dispatcher.round() == ["a-late"]
    assert dispatcher.outcomes[-1] == ("a-late", "created")
    assert dispatcher.runs.calls[layout.run_id_for("a-late")] == 1


def test_a_started_items_rewritten_brief_never_starts_a_second_run(store: Store, sops, channels,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="humas.dispatch")
    _drop(store, "a-item", _brief())
    for n in range(6):
        _started(store, f"b-done-{n}")
    dispatcher = Dispatcher(store, sops, channels)
    assert dispatcher.look() == ["a-item"]
    assert dispatcher.round() == []  # learns it started
    submit_brief(store, "a-item", _brief(title="HUT Kota, judul baru"))
    _drop(store, "a-item", None, assets=("poster-v2.jpg",))
    assert dispatcher.round() + dispatcher.round() == []
    assert dispatcher.runs.calls[layout.run_id_for("a-item")] == 1
    assert "item a-item changed after its run started" in caplog.text  # seen, and said why nothing happens


def test_a_folder_larger_than_a_page_is_decided_whole(store: Store, sops, channels) -> None:
    names = [f"foto-{n}.jpg" for n in range(PAGE * 2 + 1)]
    _drop(store, "a-small", _brief())  # the big folder begins in the middle of the first page
    _drop(store, "b-big", _brief(assets=names, sop="tidak_ada"), assets=tuple(names))
    dispatcher = Dispatcher(store, sops, channels)
    assert sorted(dispatcher.look()) == ["a-small", "b-big"]
    assert dict(dispatcher.outcomes) == {"a-small": "created", "b-big": "refused"}
    assert dispatcher.round() == []
    with SentRequests(store) as sent:  # the big refused folder is seen whole, unchanged: only the sweep's pages
        assert dispatcher.round() == []
    assert sent and all("list-type=2" in url for url in sent), sent
    _drop(store, "c-new", _brief())
    assert dispatcher.round() == ["c-new"]
    assert set(dispatcher.runs.calls.values()) == {1}


def test_a_folder_gone_from_the_inbox_is_forgotten_and_a_new_one_of_that_name_is_decided(store: Store, sops,
                                                                                          channels) -> None:
    _drop(store, "a-refused", _brief(sop="tidak_ada"))
    for n in range(6):
        _started(store, f"b-done-{n}")
    dispatcher = Dispatcher(store, sops, channels)
    assert dispatcher.look() == ["a-refused"]
    for key in [o.key for o in store.list(layout.item_prefix("a-refused"))]:
        store.delete(key)  # only the stack's admin could
    dispatcher.round()
    assert "a-refused" not in dispatcher.watch._files
    _drop(store, "a-refused", _brief())
    assert dispatcher.round() == ["a-refused"]
