"""The submitter's view (humas.progress): derived from the pipeline's records as they are written, holding only
what staff may read, counted in writes, and never in the way of the item when it cannot be written."""
from __future__ import annotations

import pytest

from humas import layout
from humas.status import note_event, read_events, read_status, record_state
from humas.store import Store

pytestmark = pytest.mark.integration

ITEM, WHO = "2026-12-05-view", "skw.ayu"


class CountingStore(Store):
    """A store that counts the objects it writes (PUT or server-side copy) by key."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.client, store.bucket)
        self.written: list[str] = []

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream",
                  metadata: dict[str, str] | None = None) -> None:
        self.written.append(key)
        super().put_bytes(key, data, content_type, metadata)

    def copy(self, source: str, target: str) -> None:
        self.written.append(target)
        super().copy(source, target)


def test_a_state_change_costs_two_writes_and_a_linked_record_one_copy(store: Store) -> None:
    counting = CountingStore(store)
    record_state(counting, ITEM, "received", submitter=WHO)
    assert len([k for k in counting.written if k.startswith(layout.PROGRESS)]) == 2  # the event and the status
    store.put_bytes(layout.findings_key(ITEM, "md"), b"# Temuan")
    counting.written.clear()
    record_state(counting, ITEM, "assets_failed", step="step_2_design",
                 details={"links": {"findings": layout.findings_key(ITEM, "md")}})
    view = [k for k in counting.written if k.startswith(layout.PROGRESS)]
    assert len(view) == 3 and view[0] == layout.progress_key(WHO, ITEM, layout.findings_key(ITEM, "md"))  # copy first
    assert "/events/" in view[1] and view[2] == layout.progress_key(WHO, ITEM, layout.status_key(ITEM))  # status last
    assert read_status(store, ITEM, WHO)["links"] == {"findings": layout.progress_key(WHO, ITEM,
                                                                                      layout.findings_key(ITEM, "md"))}


def test_records_staff_may_not_read_are_neither_copied_nor_linked(store: Store) -> None:
    record_state(store, ITEM, "received", submitter=WHO)
    for key in (layout.review_key(ITEM), layout.rendition_key(ITEM, "instagram", "01.jpg")):
        store.put_bytes(key, b"pipeline only")
    record_state(store, ITEM, "awaiting_approval", details={"links": {
        "review": layout.review_key(ITEM), "poster": layout.rendition_key(ITEM, "instagram", "01.jpg")}})
    assert read_status(store, ITEM, WHO)["links"] == {}
    assert [o.key.rpartition("/")[2] for o in store.list(layout.progress_prefix(WHO, ITEM))
            if "/events/" not in o.key] == ["status.json"]


def test_the_submitter_is_kept_and_events_without_a_state_change_reach_the_view(store: Store) -> None:
    record_state(store, ITEM, "received", submitter=WHO)
    record_state(store, ITEM, "in_step", step="step_1_idea")  # a step does not name the submitter again
    note_event(store, ITEM, "sla_missed", step="step_1_idea", message="terlambat")
    assert read_status(store, ITEM)["submitter"] == WHO
    assert read_status(store, ITEM, WHO)["state"] == "in_step"
    assert [e["state"] for e in read_events(store, ITEM, WHO)] == [e["state"] for e in read_events(store, ITEM)] == [
        "received", "in_step", "sla_missed"]


def test_no_view_before_anyone_is_vouched_for_and_a_failing_view_does_not_stop_the_item(store: Store,
                                                                                         monkeypatch) -> None:
    record_state(store, ITEM, "refused", message="tanpa klaim")
    assert list(store.list(layout.PROGRESS)) == []

    def broken(*_args, **_kwargs) -> None:
        raise OSError("bucket unreachable")

    record_state(store, "other-item", "received", submitter=WHO)
    monkeypatch.setattr(Store, "copy", broken)
    store.put_bytes(layout.receipt_key("other-item"), b"{}")
    status = record_state(store, "other-item", "published", details={"links": {
        "receipt": layout.receipt_key("other-item")}})
    assert status["state"] == "published" == read_status(store, "other-item")["state"]
    assert read_status(store, "other-item", WHO)["state"] == "received"  # stale, logged; the item went on
