"""The bucket contract: every key the pipeline reads or writes, and the names it refuses."""
from __future__ import annotations

import random
import re
import string
from datetime import datetime, timedelta, timezone

import pytest

from humas import layout
from humas.exceptions import LayoutError

ITEM = "2026-11-22-hut-kota"
# Airflow's own run-id pattern (airflow.models.dagrun RUN_ID_REGEX); an item's run id must fit it.
AIRFLOW_RUN_ID = re.compile(r"^[A-Za-z0-9_.~:+-]+$")
_FIRST = string.ascii_letters + string.digits
_REST = _FIRST + "._-"


def _generated_item_ids(count: int = 200) -> list[str]:
    """Valid item ids of every length 1-80, drawn from the whole allowed alphabet (fixed seed)."""
    rng = random.Random(20261122)
    ids = ["a", "0", "A" * 80, "x.-_", "2026-11-22-hut-kota", "Z9.z"]
    for _ in range(count):
        length = rng.randint(1, 80)
        ids.append(rng.choice(_FIRST) + "".join(rng.choice(_REST) for _ in range(length - 1)))
    return [i.replace("..", ".a") for i in ids]  # ".." is never an item id (Airflow refuses it in a run id)


GENERATED_IDS = _generated_item_ids()


# ------------------------------------------------------------------------------------------- item ids


@pytest.mark.parametrize("item_id", ["a", "7", ITEM, "HUT_Kota.v2", "a" * 80, "A-b_c.d"])
def test_valid_item_ids_are_returned_unchanged(item_id: str) -> None:
    assert layout.check_item_id(item_id) == item_id


@pytest.mark.parametrize("item_id", [
    "", "../x", "..", ".", "a/b", "a\\b", "-lead-dash", ".hidden", "_under", "a b", "hut kota",
    "a" * 81, "a:b", "a~b", "é-item", "a\x00b", "a\tb", "\nabc", "x..", "a..b", "rt sp", "rt-ü",
])
def test_invalid_item_ids_raise_naming_the_id_and_the_fix(item_id: str) -> None:
    with pytest.raises(LayoutError) as info:
        layout.check_item_id(item_id)
    message = str(info.value)
    assert repr(item_id) in message
    assert "1-80 letters" in message and "rename the folder" in message


def test_none_item_id_is_refused() -> None:
    with pytest.raises(LayoutError):
        layout.check_item_id(None)  # type: ignore[arg-type]


def test_item_id_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(LayoutError):
        layout.check_item_id("abc\n")


def test_inbox_prefix_with_a_trailing_newline_is_not_an_item() -> None:
    assert layout.item_id_from_inbox_prefix("inbox/abc\n/") is None


# ------------------------------------------------------------------------------------------- asset names


@pytest.mark.parametrize("name", ["poster.jpg", "Poster Final (2).PNG", ".hidden.jpg", "...", "a" * 200,
                                  "brief.yaml.bak", "Brief.yaml", "désain.jpg"])
def test_plain_asset_names_are_accepted(name: str) -> None:
    assert layout.check_asset_name(ITEM, name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "../../etc/passwd", "a/b", "dir/", "/abs.jpg",
                                  "a\\b.jpg", "..\\x", "a" * 201, "brief.yaml", "tab\there.jpg", "nul\x00.jpg"])
def test_unsafe_asset_names_are_refused_naming_item_and_name(name: str) -> None:
    with pytest.raises(LayoutError) as info:
        layout.check_asset_name(ITEM, name)
    message = str(info.value)
    assert ITEM in message and repr(name) in message and "rename the file" in message


def test_asset_name_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(LayoutError):
        layout.check_asset_name(ITEM, "poster.jpg\n")


# ------------------------------------------------------------------------------------------- keys


def test_inbox_keys() -> None:
    assert layout.item_prefix(ITEM) == f"inbox/{ITEM}/"
    assert layout.brief_key(ITEM) == f"inbox/{ITEM}/brief.yaml"
    assert layout.asset_key(ITEM, "poster.jpg") == f"inbox/{ITEM}/poster.jpg"


def test_approval_keys() -> None:
    assert layout.approval_prefix(ITEM) == f"approvals/{ITEM}/"
    assert layout.approval_key(ITEM, "step_3_decision") == f"approvals/{ITEM}/step_3_decision.json"


def test_pipeline_keys() -> None:
    base = f"pipeline/{ITEM}/"
    assert layout.pipeline_prefix(ITEM) == base
    assert layout.status_key(ITEM) == base + "status.json"
    assert layout.events_prefix(ITEM) == base + "events/"
    assert layout.refusal_key(ITEM) == base + "refusal.json"
    assert layout.findings_key(ITEM) == base + "findings.json"
    assert layout.findings_key(ITEM, "md") == base + "findings.md"
    assert layout.rendition_prefix(ITEM, "instagram") == base + "renditions/instagram/"
    assert layout.rendition_key(ITEM, "instagram", "poster.jpg") == base + "renditions/instagram/poster.jpg"
    assert layout.preview_key(ITEM) == base + "preview.jpg"
    assert layout.publish_key(ITEM, "x") == base + "publish/x.json"
    assert layout.receipt_key(ITEM) == base + "receipt.json"


@pytest.mark.parametrize("stage", layout.DISPATCH_STAGES)
def test_dispatch_keys(stage: str) -> None:
    assert layout.dispatch_prefix(stage) == f"dispatch/{stage}/"
    assert layout.dispatch_key(stage, ITEM) == f"dispatch/{stage}/{ITEM}.json"


def test_unknown_dispatch_stage_is_refused() -> None:
    with pytest.raises(LayoutError, match="unknown dispatch stage 'done'"):
        layout.dispatch_prefix("done")
    with pytest.raises(LayoutError):
        layout.dispatch_key("done", ITEM)


@pytest.mark.parametrize("build", [
    layout.item_prefix, layout.brief_key, layout.approval_prefix, layout.pipeline_prefix, layout.status_key,
    layout.events_prefix, layout.refusal_key, layout.findings_key, layout.preview_key, layout.receipt_key,
    layout.run_id_for, lambda i: layout.asset_key(i, "poster.jpg"), lambda i: layout.approval_key(i, "g"),
    lambda i: layout.dispatch_key("started", i), lambda i: layout.publish_key(i, "x"),
    lambda i: layout.rendition_key(i, "x", "a.jpg"),
    lambda i: layout.event_key(i, "received", datetime.now(timezone.utc)),
])
@pytest.mark.parametrize("bad_id", ["../x", "a/b", ""])
def test_every_item_key_refuses_a_bad_item_id(build, bad_id: str) -> None:
    with pytest.raises(LayoutError):
        build(bad_id)


@pytest.mark.parametrize("bad_name", ["../x", "a/b", "brief.yaml", ""])
def test_asset_and_rendition_keys_refuse_a_bad_name(bad_name: str) -> None:
    with pytest.raises(LayoutError):
        layout.asset_key(ITEM, bad_name)
    with pytest.raises(LayoutError):
        layout.rendition_key(ITEM, "instagram", bad_name)


# ------------------------------------------------------------------------------------------- events


def test_event_key_is_a_utc_microsecond_stamp_then_the_state() -> None:
    at = datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=7)))
    assert layout.event_key(ITEM, "received", at) == f"pipeline/{ITEM}/events/20261122T023015123456Z-received.json"


def test_event_keys_sort_by_time_whatever_the_state_or_zone() -> None:
    start = datetime(2026, 12, 31, 23, 59, 59, 999990, tzinfo=timezone.utc)
    wib = timezone(timedelta(hours=7))
    states = ["sla_missed", "approved", "received", "published", "refused", "assets_failed"]
    moments = [start + timedelta(microseconds=3 * n) for n in range(len(states))]
    # the same instants, written in alternating zones, with states whose names sort the other way
    keys = [layout.event_key(ITEM, state, (m.astimezone(wib) if n % 2 else m))
            for n, (state, m) in enumerate(zip(states, moments))]
    assert sorted(keys) == keys
    assert all(k.startswith(layout.events_prefix(ITEM)) for k in keys)


def test_event_keys_sort_across_a_ten_hour_offset() -> None:
    early = datetime(2026, 1, 1, 20, 0, tzinfo=timezone(timedelta(hours=10)))  # 10:00 UTC
    late = datetime(2026, 1, 1, 11, 0, tzinfo=timezone.utc)                     # 11:00 UTC
    assert layout.event_key(ITEM, "z", early) < layout.event_key(ITEM, "a", late)


# ------------------------------------------------------------------------------------------- run ids


@pytest.mark.parametrize("item_id", GENERATED_IDS)
def test_run_id_fits_airflow_and_round_trips(item_id: str) -> None:
    run_id = layout.run_id_for(item_id)
    assert AIRFLOW_RUN_ID.match(run_id)
    assert run_id == f"item__{item_id}"
    assert layout.item_id_from_run_id(run_id) == item_id


@pytest.mark.parametrize("item_id", [*GENERATED_IDS[:40], "x..", "a..b", "a.b.", "x~y", "a:b", "rt-ü"])
def test_the_one_item_id_rule_agrees_with_airflows_own_run_id_check(item_id: str) -> None:
    """An id the pipeline takes is a run id Airflow takes (its DagRun validator, ".." included), and back."""
    from airflow.models.dagrun import DagRun

    try:
        DagRun(dag_id="d", run_id=f"item__{item_id}", run_type="manual")
        airflow_takes = True
    except ValueError:
        airflow_takes = False
    assert layout.is_item_id(item_id) == (airflow_takes and layout.ITEM_ID_PATTERN.fullmatch(item_id) is not None)
    if airflow_takes is False:
        assert not layout.is_item_id(item_id)


def test_run_id_is_deterministic() -> None:
    assert layout.run_id_for(ITEM) == layout.run_id_for(ITEM)


@pytest.mark.parametrize("run_id", ["manual__2026-11-22T00:00:00+00:00", "scheduled__2026", "item_x", ""])
def test_other_run_ids_are_not_items(run_id: str) -> None:
    assert layout.item_id_from_run_id(run_id) is None


@pytest.mark.parametrize("run_id", ["item__", "item__a/b", "item__../x"])
def test_run_id_with_an_invalid_item_part_is_not_an_item(run_id: str) -> None:
    assert layout.item_id_from_run_id(run_id) is None


# ------------------------------------------------------------------------------------------- parsing keys back


@pytest.mark.parametrize("item_id", GENERATED_IDS[:40])
def test_inbox_prefix_round_trip(item_id: str) -> None:
    assert layout.item_id_from_inbox_prefix(layout.item_prefix(item_id)) == item_id


@pytest.mark.parametrize("prefix", ["inbox/", "inbox/a/b/", "inbox/../", "inbox/.x/", "inbox/a b/",
                                    "inbox/abc", "other/abc/", "inbox//", "abc/"])
def test_inbox_prefix_that_is_no_item(prefix: str) -> None:
    assert layout.item_id_from_inbox_prefix(prefix) is None


@pytest.mark.parametrize("stage", layout.DISPATCH_STAGES)
@pytest.mark.parametrize("item_id", GENERATED_IDS[:20])
def test_dispatch_key_round_trip(stage: str, item_id: str) -> None:
    assert layout.item_id_from_dispatch_key(stage, layout.dispatch_key(stage, item_id)) == item_id


@pytest.mark.parametrize("key", [
    "dispatch/started/abc.txt", "dispatch/requested/abc.json", "dispatch/started/a/b.json",
    "dispatch/started/.json", "dispatch/started/../x.json", "pipeline/abc/status.json", "dispatch/started/",
])
def test_dispatch_key_that_is_no_item(key: str) -> None:
    assert layout.item_id_from_dispatch_key("started", key) is None


@pytest.mark.parametrize("name", ["poster.jpg", "Poster Final (2).PNG", "...", "a" * 200])
def test_asset_name_round_trip(name: str) -> None:
    assert layout.asset_name_from_key(ITEM, layout.asset_key(ITEM, name)) == name


@pytest.mark.parametrize("key", [
    f"inbox/{ITEM}/brief.yaml",       # the brief is not an asset
    f"inbox/{ITEM}/",                 # a folder marker
    f"inbox/{ITEM}/sub/poster.jpg",   # nested
    f"inbox/{ITEM}-other/poster.jpg", # another item whose id starts the same
    f"pipeline/{ITEM}/poster.jpg",
])
def test_keys_that_are_no_asset(key: str) -> None:
    assert layout.asset_name_from_key(ITEM, key) is None


def test_decision_keys_sort_by_time_and_name_their_gate():
    from datetime import datetime, timedelta, timezone

    at = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
    first = layout.decision_key("item-1", "step_3_decision", "revise", at)
    later = layout.decision_key("item-1", "step_3_decision", "approve", at + timedelta(seconds=1))
    assert first < later and first.startswith(layout.decisions_prefix("item-1"))
    assert layout.gate_of_decision_key("item-1", later) == "step_3_decision"
    assert layout.gate_of_decision_key("item-1", "pipeline/item-1/status.json") is None
    assert layout.gate_of_decision_key("item-2", later) is None


def test_a_delivery_claim_names_its_login_last_and_only_a_plain_login_is_read_back() -> None:
    at = datetime(2026, 12, 1, 2, 3, 4, tzinfo=timezone.utc)
    key = layout.delivery_claim_key("hut-kota", "skw.rizki", at)
    # the policy's claims/*/<login>.json: the login is the key's last name
    assert key == "claims/hut-kota/deliveries/20261201T020304000000Z/skw.rizki.json"
    assert layout.login_from_delivery_claim_key("hut-kota", key) == "skw.rizki"
    assert layout.login_from_claim_key("hut-kota", key) is None  # not a submission
    prefix = "claims/hut-kota/deliveries/"
    for odd in (f"{prefix}x/skw.hendra.json/skw.ayu.json", f"{prefix}skw.ayu.json", f"{prefix}x/skw.ayu.txt",
                "claims/other/deliveries/x/skw.ayu.json"):
        assert layout.login_from_delivery_claim_key("hut-kota", odd) is None, odd
