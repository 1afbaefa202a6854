"""The submitter is who dropped the item (their own identity's claim), never a brief field on its own: a
brief naming someone else, files changed by another hand, no claim or two claims are refused with a reason."""
from __future__ import annotations

import pytest

from brief_corpus import GOOD
from claims import submit_brief
from humas import dispatch, layout
from humas.store import Store
from humas.submission import claim

pytestmark = pytest.mark.integration

ITEM = "2026-12-01-hut-kota"


def _poster(store: Store, data: bytes = b"\xff\xd8 jpeg") -> None:
    store.put_bytes(layout.asset_key(ITEM, "poster.jpg"), data, "image/jpeg")


def _decide(store: Store, sops, channels) -> dispatch.Decision:
    return dispatch.assess_item(store, ITEM, sops, channels)


def test_the_claimed_submitter_starts_the_item(store: Store, sops, channels) -> None:
    _poster(store)
    submit_brief(store, ITEM, GOOD)
    assert _decide(store, sops, channels).action == "start"


def test_a_brief_naming_someone_else_than_the_uploader_is_refused_with_both_names(store: Store, sops, channels) -> None:
    _poster(store)
    brief = GOOD.replace(b"submitter: skw.ayu", b"submitter: skw.rizki")  # the Kepala Bidang uploads in Rizki's name
    submit_brief(store, ITEM, brief, login="skw.hendra")
    decision = _decide(store, sops, channels)
    assert decision.action == "refuse"
    (problem,) = decision.problems
    assert problem.field == "submitter" and "skw.rizki" in problem.message and "skw.hendra" in problem.message
    assert "submitter: skw.hendra" in problem.fix


def test_a_brief_dropped_without_a_claim_is_refused_saying_how_to_submit(store: Store, sops, channels) -> None:
    _poster(store)
    store.put_bytes(layout.brief_key(ITEM), GOOD, "application/yaml")
    decision = _decide(store, sops, channels)
    assert decision.action == "refuse" and "humas submit" in decision.problems[0].fix


def test_a_brief_edited_by_another_hand_after_the_claim_is_refused(store: Store, sops, channels) -> None:
    _poster(store)
    submit_brief(store, ITEM, GOOD)
    store.put_bytes(layout.brief_key(ITEM), GOOD.replace(b"Selamat", b"Diubah"), "application/yaml")
    assert _decide(store, sops, channels).problems[0].field == "submitter"


def test_a_poster_swapped_after_the_claim_is_refused_naming_the_file(store: Store, sops, channels) -> None:
    _poster(store)
    submit_brief(store, ITEM, GOOD)
    _poster(store, b"\xff\xd8 a colleague's swap")
    (problem,) = _decide(store, sops, channels).problems
    assert problem.field == "assets" and "poster.jpg" in problem.message and "skw.ayu" in problem.message


def test_two_people_claiming_the_same_brief_is_refused(store: Store, sops, channels) -> None:
    _poster(store)
    claim(store, ITEM, "skw.hendra", GOOD)
    submit_brief(store, ITEM, GOOD)
    (problem,) = _decide(store, sops, channels).problems
    assert "lebih dari satu" in problem.message and "skw.ayu" in problem.message and "skw.hendra" in problem.message


def test_a_claim_by_someone_outside_the_roster_is_refused(store: Store, sops, channels) -> None:
    _poster(store)
    brief = GOOD.replace(b"submitter: skw.ayu", b"submitter: orang.luar")
    submit_brief(store, ITEM, brief)
    (problem,) = _decide(store, sops, channels).problems
    assert problem.field == "submitter" and "orang.luar" in problem.message


# -- whose view (humas.progress) the dispatcher's records go to: the vouched uploader's, never the brief's name

def _views(store: Store) -> dict[str, str]:
    """login -> the state their view of ITEM shows."""
    found = {}
    for obj in store.list(layout.PROGRESS):
        login, item, name = obj.key[len(layout.PROGRESS):].split("/", 2)
        if item == ITEM and name == "status.json":
            found[login] = store.get_json(obj.key)["state"]
    return found


def _record(store: Store, sops, channels) -> dispatch.Decision:
    decision = _decide(store, sops, channels)
    dispatch.start_item_runs(store, [decision], {s: f"sop_{s}" for s in sops}, lambda *_: "created")
    return decision


def test_a_started_item_is_shown_to_its_claimed_submitter_only(store: Store, sops, channels) -> None:
    _poster(store)
    submit_brief(store, ITEM, GOOD)
    assert _record(store, sops, channels).action == "start"
    assert _views(store) == {"skw.ayu": "received"}


def test_a_refusal_is_shown_to_the_uploader_not_to_the_person_the_brief_names(store: Store, sops, channels) -> None:
    _poster(store)
    submit_brief(store, ITEM, GOOD.replace(b"submitter: skw.ayu", b"submitter: skw.rizki"), login="skw.hendra")
    assert _record(store, sops, channels).action == "refuse"
    assert _views(store) == {"skw.hendra": "refused"}
    view = layout.progress_prefix("skw.hendra", ITEM)
    assert store.get_json(view + "status.json")["links"] == {"refusal": view + "refusal.json"}
    assert store.get_json(view + "refusal.json")["problems"][0]["field"] == "submitter"


def test_a_brief_dropped_without_a_claim_is_refused_with_no_view(store: Store, sops, channels) -> None:
    _poster(store)
    store.put_bytes(layout.brief_key(ITEM), GOOD, "application/yaml")
    assert _record(store, sops, channels).action == "refuse"
    assert _views(store) == {} and store.get_json(layout.status_key(ITEM))["state"] == "refused"
