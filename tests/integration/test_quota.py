"""Quotas through the upload step's core, with the real platform clients against the platform sandbox over HTTP
and a real S3 server: an item whose channel is out of quota publishes every other channel, waits (the step
returns ``WaitUntil``, which its Airflow task turns into a deferral holding no slot), says so on its status, and
publishes when the limit frees; never twice, never failing because of a quota."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import requests

from approved_items import CHANNELS, approved_upload as approved
from humas import layout, quota
from humas.exceptions import QuotaExhausted, StepFailed
from humas.platforms import ClientConfig, PlatformClient, make_client
from humas.publish import read_record
from humas.status import read_status
from humas.steps.base import ItemStep, WaitUntil
from humas.steps.upload import publish_item
from humas.timetext import wib
from humas_dev.sandbox import (
    FACEBOOK_PAGE_ID, INSTAGRAM_USER_ID, X_USER_ID, SandboxConfig, SandboxHTTPServer,
)
from sandbox_server import running_sandbox

pytestmark = pytest.mark.integration

TOKEN = "sandbox-quota-token"
KEY = "q" * 48
ACCOUNTS = {"instagram": INSTAGRAM_USER_ID, "facebook": FACEBOOK_PAGE_ID, "x": X_USER_ID}
WINDOW = 4     # seconds: the sandbox's Instagram window, so a test sees it roll on


@pytest.fixture(autouse=True)
def approval_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUMAS_APPROVAL_KEY", KEY)


@pytest.fixture()
def sandbox() -> Iterator[SandboxHTTPServer]:
    with running_sandbox(SandboxConfig(token=TOKEN, in_progress_polls=0, instagram_quota_total=1,
                                       instagram_quota_duration=WINDOW)) as server:
        yield server


@pytest.fixture()
def clients(sandbox: SandboxHTTPServer) -> Callable[[str], PlatformClient]:
    return lambda channel: make_client(channel, ClientConfig(sandbox.base_url, TOKEN, ACCOUNTS[channel], timeout=10))


def posts(sandbox: SandboxHTTPServer) -> list[dict]:
    return requests.get(f"{sandbox.base_url}/_sandbox/posts", timeout=5).json()


def arm(sandbox: SandboxHTTPServer, **fault: object) -> None:
    requests.post(f"{sandbox.base_url}/_sandbox/faults", json=fault, timeout=5).raise_for_status()


def approved_upload(store, sops, item_id: str, seed: int) -> Callable[[], ItemStep]:
    """Drop an item for all three channels, take it through intake, design and approval; its upload step."""
    return approved(store, sops, item_id, seed, KEY)


def _per_channel(sandbox: SandboxHTTPServer) -> dict[str, int]:
    counts = {channel: 0 for channel in CHANNELS}
    for post in posts(sandbox):
        counts[post["channel"]] += 1
    return counts


def test_an_item_out_of_instagram_quota_posts_the_rest_waits_and_then_posts(store, sops, sandbox, clients) -> None:
    first = approved_upload(store, sops, "quota-first", 1)
    second = approved_upload(store, sops, "quota-second", 2)
    assert publish_item(first(), clients)["complete"]              # takes Instagram's only post of the window

    outcome = publish_item(second(), clients)

    assert isinstance(outcome, WaitUntil)
    made = datetime.fromisoformat(read_record(store, "quota-first", "instagram")["post"]["published_at"])
    assert made + timedelta(seconds=WINDOW) <= outcome.moment <= made + timedelta(seconds=WINDOW + 2)
    assert _per_channel(sandbox) == {"instagram": 1, "facebook": 2, "x": 2}   # the others did not wait
    status = read_status(store, "quota-second")
    assert status["state"] == "waiting_quota" and status["label"] == "Menunggu kuota platform"
    assert status["message"].startswith("Menunggu kuota Instagram, tersedia lagi sekitar ")
    assert status["message"].endswith(" WIB") and "UTC" not in status["message"]
    assert set(status["details"]["quota"]) == {"instagram"}
    assert read_record(store, "quota-second", "instagram")["state"] == "new"   # nothing was sent to Instagram
    assert quota.place_in_line(store, "instagram", "quota-second") == 0

    time.sleep(max((outcome.moment - datetime.now(timezone.utc)).total_seconds(), 0))   # the deferral's wait
    receipt = publish_item(second(), clients)

    assert receipt["complete"] and [p["channel"] for p in receipt["posts"]] == CHANNELS
    assert _per_channel(sandbox) == {"instagram": 2, "facebook": 2, "x": 2}
    assert list(store.list(layout.quota_line_prefix("instagram"))) == []       # its place went to the next


def test_the_upload_role_is_told_once_per_wait_which_channel_waits_and_when_it_frees(store, sops, sandbox, clients,
                                                                                      monkeypatch) -> None:
    from humas_airflow.notifiers import NotifierTransport

    for conn in ("HUMAS_TELEGRAM", "HUMAS_WHATSAPP"):
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn}", json.dumps(
            {"conn_type": "http", "host": sandbox.base_url, "password": TOKEN,
             "extra": {"phone_number_id": "109000000000001"}}))
    first = approved_upload(store, sops, "quota-told-1", 1)
    second = approved_upload(store, sops, "quota-told-2", 2)
    assert publish_item(first(), clients)["complete"]

    def told() -> list[dict]:
        return requests.get(f"{sandbox.base_url}/_sandbox/messages", params={"kind": "quota_wait"}, timeout=5).json()

    outcome = publish_item(replace(second(), transport=NotifierTransport()), clients)
    assert isinstance(publish_item(replace(second(), transport=NotifierTransport()), clients), WaitUntil)  # a look
    assert sorted(m["to"] for m in told()) == ["+628120000004", "700000004"]  # Sari, the upload role; once
    text = told()[0]["text"]
    until = datetime.fromisoformat(read_status(store, "quota-told-2")["details"]["quota"]["instagram"]["until"])
    assert told()[0]["subject"] == "Menunggu kuota Instagram: Item 2"
    assert f"Kuota tersedia lagi sekitar {wib(until)}" in text and "dicoba lagi otomatis" in text

    time.sleep(max((outcome.moment - datetime.now(timezone.utc)).total_seconds(), 0))
    assert publish_item(replace(second(), transport=NotifierTransport()), clients)["complete"]
    assert len(told()) == 2


def test_waiting_items_keep_their_order_in_line(store, sops, sandbox, clients) -> None:
    items = [approved_upload(store, sops, f"quota-line-{n}", n) for n in range(3)]
    assert publish_item(items[0](), clients)["complete"]
    waits = [publish_item(item(), clients) for item in items[1:]]
    assert [quota.place_in_line(store, "instagram", f"quota-line-{n}") for n in (1, 2)] == [0, 1]
    assert all(isinstance(w, WaitUntil) for w in waits)
    assert waits[0].moment < waits[1].moment                       # the second in line is given the next slot


def test_a_429_on_x_is_noted_so_other_items_wait_without_asking(store, sops, sandbox, clients) -> None:
    first = approved_upload(store, sops, "quota-x-1", 1)
    second = approved_upload(store, sops, "quota-x-2", 2)
    arm(sandbox, channel="x", operation="tweets", mode="http_429", retry_after=60)

    assert isinstance(publish_item(first(), clients), WaitUntil)
    noted = quota.noted_until(store, "x")
    assert noted is not None and noted > datetime.now(timezone.utc) + timedelta(seconds=55)

    # the fault is used up, so X would take a post now: the second item waits on the note without sending one
    assert isinstance(publish_item(second(), clients), WaitUntil)
    assert _per_channel(sandbox)["x"] == 0
    assert read_record(store, "quota-x-2", "x")["state"] == "new"
    assert read_status(store, "quota-x-2")["details"]["quota"]["x"]["until"] == noted.isoformat()


def test_a_post_made_then_answered_with_a_rate_limit_is_found_not_sent_again(store, sops, sandbox, clients) -> None:
    item = approved_upload(store, sops, "quota-after-commit", 1)
    arm(sandbox, channel="x", operation="tweets", mode="rate_limit_after_commit", retry_after=1)

    outcome = publish_item(item(), clients)

    assert isinstance(outcome, WaitUntil) and _per_channel(sandbox)["x"] == 1   # X made it, and answered 429
    assert read_record(store, "quota-after-commit", "x")["state"] == "failed"
    time.sleep(max((outcome.moment - datetime.now(timezone.utc)).total_seconds(), 0) + 1)
    receipt = publish_item(item(), clients)
    assert receipt["complete"] and _per_channel(sandbox)["x"] == 1
    assert read_record(store, "quota-after-commit", "x")["confirmed_by"].startswith("found on platform")


def test_a_note_further_ahead_than_any_window_is_not_believed(store) -> None:
    far = datetime.now(timezone.utc) + timedelta(days=30)
    store.put_json(layout.quota_note_key("x"), {"until": far.isoformat()})
    assert quota.noted_until(store, "x") is None
    near = datetime.now(timezone.utc) + timedelta(minutes=5)
    quota.note_exhausted(store, QuotaExhausted("x", "dibatasi", until=near))
    assert quota.noted_until(store, "x") == near


def test_an_instagram_wait_is_never_noted_for_everyone(store) -> None:
    until = datetime.now(timezone.utc) + timedelta(hours=3)
    quota.note_exhausted(store, QuotaExhausted("instagram", "kuota", until=until, shared=False))
    assert quota.noted_until(store, "instagram") is None


def test_a_platform_failing_every_try_says_what_happens_next_and_on_the_last_try_what_a_person_does(
        store, sops, sandbox, clients) -> None:
    item = approved_upload(store, sops, "fails-twice", 1)
    arm(sandbox, channel="x", operation="tweets", mode="error_500", count=2)

    with pytest.raises(StepFailed, match="not published on x"):
        publish_item(item(), clients)
    status = read_status(store, "fails-twice")
    assert status["state"] == "publish_failed" and status["message"].startswith("Gagal diunggah ke X.")
    assert "dicoba lagi otomatis" in status["message"] and "HTTP 500" in status["message"]

    with pytest.raises(StepFailed):
        publish_item(replace(item(), last_try=True), clients)
    status = read_status(store, "fails-twice")
    assert "Semua percobaan otomatis sudah dipakai" in status["message"] and status["details"]["last_try"]
    assert _per_channel(sandbox) == {"instagram": 1, "facebook": 1, "x": 0}   # the others posted once
