"""After each post the upload step reads back what the platform shows and compares it with the approved
rendition: the real clients against the platform sandbox over HTTP, a real S3 server. A sandbox fault
(`swap_media`) makes a post show other pictures than it was sent; the step then stops with a Bahasa state naming
the channel and the link, tells the upload role, and never deletes or posts anything again."""
from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
import requests
from PIL import Image

from approved_items import approved_upload
from humas import layout
from humas.exceptions import StepFailed
from humas.platforms import ClientConfig, MediaRef, PlatformClient, PostRequest, Progress, XClient, make_client
from humas.publish import publish_once, read_record
from humas.status import read_status
from humas.steps.upload import publish_item
from humas.store import Store
from humas.verify import verify_post
from humas_dev.sandbox import (
    FACEBOOK_PAGE_ID, INSTAGRAM_USER_ID, X_USER_ID, SandboxConfig, SandboxHTTPServer,
)
from sandbox_server import running_sandbox

pytestmark = pytest.mark.integration

TOKEN = "sandbox-shown-token"
KEY = "v" * 48
ACCOUNTS = {"instagram": INSTAGRAM_USER_ID, "facebook": FACEBOOK_PAGE_ID, "x": X_USER_ID}
POSTING = {"instagram": "media_publish", "facebook": "photos", "x": "tweets"}   # the request that makes the post
NAMES = {"instagram": "Instagram", "facebook": "Facebook", "x": "X"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHTTPServer]:
    with running_sandbox(SandboxConfig(token=TOKEN, in_progress_polls=0)) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(sandbox: SandboxHTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUMAS_APPROVAL_KEY", KEY)
    requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=5).raise_for_status()


@pytest.fixture()
def clients(sandbox: SandboxHTTPServer) -> Callable[[str], PlatformClient]:
    return lambda channel: make_client(channel, ClientConfig(sandbox.base_url, TOKEN, ACCOUNTS[channel], timeout=10))


def gradient(width: int = 1080, height: int = 1350, flip: bool = False) -> bytes:
    """A poster with a left-to-right gradient (a plain one has an all-zero difference hash, like its negative)."""
    row = bytes(int(255 * x / (width - 1)) for x in range(width))
    picture = Image.frombytes("L", (width, 1), row[::-1] if flip else row).resize((width, height)).convert("RGB")
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue()


def posts(sandbox: SandboxHTTPServer) -> list[dict]:
    return requests.get(f"{sandbox.base_url}/_sandbox/posts", timeout=5).json()


def swap(sandbox: SandboxHTTPServer, channel: str) -> None:
    fault = {"channel": channel, "operation": POSTING[channel], "mode": "swap_media"}
    requests.post(f"{sandbox.base_url}/_sandbox/faults", json=fault, timeout=5).raise_for_status()


def notices(store: Store, item_id: str, step: str, kind: str) -> list[dict]:
    keys = [o.key for o in store.list(layout.notice_kind_prefix(item_id, step, kind)) if o.key.endswith("/notice.json")]
    return [store.get_json(key) for key in keys]


def test_every_post_shows_the_approved_picture_and_the_record_says_so(store, sops, sandbox, clients) -> None:
    item = approved_upload(store, sops, "shown-ok", 1, KEY, gradient())

    assert publish_item(item(), clients)["complete"]

    for channel in ACCOUNTS:
        check = read_record(store, "shown-ok", channel)["verification"]
        assert check["result"] == "match", (channel, check)
        assert [row["distance"] for row in check["media"]] == [0]
        assert check["media"][0]["same_bytes"]          # the sandbox keeps the bytes; real platforms re-encode
    assert read_status(store, "shown-ok")["state"] == "published"


@pytest.mark.parametrize("channel", ["instagram", "facebook", "x"])
def test_a_post_showing_other_pictures_stops_the_step_tells_the_upload_role_and_is_never_redone(
        store, sops, sandbox, clients, channel: str) -> None:
    item_id = f"shown-swap-{channel}"
    item = approved_upload(store, sops, item_id, 2, KEY, gradient(), channels=[channel, *(
        c for c in ACCOUNTS if c != channel)])
    swap(sandbox, channel)

    with pytest.raises(StepFailed, match="shows other media than approved"):
        publish_item(item(), clients)
    with pytest.raises(StepFailed, match="shows other media than approved"):   # a retry stops again
        publish_item(item(), clients)

    assert [p["channel"] for p in posts(sandbox)] == [channel]   # never posted twice; nothing further posted
    record = read_record(store, item_id, channel)
    assert record["state"] == "published" and record["verification"]["result"] == "mismatch"
    assert record["verification"]["media"][0]["distance"] > 6
    status = read_status(store, item_id)
    link = record["post"]["permalink"]
    assert status["state"] == "media_mismatch"
    assert NAMES[channel] in status["message"] and link in status["message"] and "berbeda" in status["message"]
    told = notices(store, item_id, item().step.task_id, "media_mismatch")
    assert len(told) >= 1 and all(link in n["text"] for n in told)
    assert len(told) == len({n["person"] for n in told})   # once per person, though the step ran twice


@pytest.mark.parametrize("channel", ["instagram", "facebook"])
def test_a_carousel_or_album_is_read_back_picture_by_picture(store: Store, sandbox, clients, channel: str) -> None:
    pictures = [gradient(), gradient(flip=True)]
    images = []
    for n, data in enumerate(pictures):
        key = f"pipeline/shown-album/renditions/{channel}/0{n}.jpg"
        store.put_bytes(key, data, "image/jpeg")
        images.append(MediaRef(f"0{n}.jpg", store.presigned_get_url(key), data, "image/jpeg"))
    request = PostRequest(f"shown-album-{channel}", "Dua gambar #Singkawang", tuple(images))
    client = clients(channel)
    post = publish_once(store, client, request)

    check = verify_post(client, request, post, Progress())
    assert check["result"] == "match" and [row["distance"] for row in check["media"]] == [0, 0]

    swapped = PostRequest(request.item_id, request.caption, tuple(reversed(images)))   # the order matters too
    check = verify_post(client, swapped, post, Progress())
    assert check["result"] == "mismatch" and all(row["result"] == "mismatch" for row in check["media"])


class Crash(BaseException):
    """The worker dies (not an Exception: nothing in the pipeline may catch it)."""


def test_a_post_confirmed_just_before_a_crash_is_compared_on_the_next_try(
        store, sops, sandbox, clients, monkeypatch: pytest.MonkeyPatch) -> None:
    item = approved_upload(store, sops, "shown-crash", 3, KEY, gradient(), channels=["x", "facebook"])
    swap(sandbox, "x")

    def crash(*args: object) -> list[bytes]:
        raise Crash
    with monkeypatch.context() as patched:
        patched.setattr(XClient, "shown_pictures", crash)
        with pytest.raises(Crash):
            publish_item(item(), clients)
    assert read_record(store, "shown-crash", "x")["state"] == "published"   # posted, never compared

    with pytest.raises(StepFailed, match="shows other media than approved"):
        publish_item(item(), clients)
    assert [p["channel"] for p in posts(sandbox)] == ["x"]                  # not again; Facebook held back
    assert read_record(store, "shown-crash", "x")["verification"]["result"] == "mismatch"
