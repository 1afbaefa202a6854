"""The uploader's API clients against the platform sandbox, over real HTTP.

Images for Instagram are fetched by the sandbox from presigned URLs on a moto S3 server, as Meta
fetches them from the production bucket.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from PIL import ExifTags, Image

from humas import layout
from humas.exceptions import PlatformError, PublishUncertainError
from humas.platforms import ClientConfig, ImageRef, PlatformClient, PostRequest, PublishedPost, make_client
from humas.publish import publish_once, read_record
from humas.sandbox import (
    FACEBOOK_PAGE_ID, INSTAGRAM_QUOTA_TOTAL, INSTAGRAM_USER_ID, X_USER_ID, X_USERNAME, SandboxConfig, SandboxHTTPServer,
    make_server, serve_in_thread,
)
from humas.store import Store

pytestmark = pytest.mark.integration

TOKEN = "sandbox-test-token"
BUCKET = "humas-test"
ACCOUNTS = {"instagram": INSTAGRAM_USER_ID, "facebook": FACEBOOK_PAGE_ID, "x": X_USER_ID}
PERMALINKS = {
    "instagram": re.compile(r"^https://www\.instagram\.com/p/[A-Za-z0-9_-]+/$"),
    "facebook": re.compile(rf"^https://www\.facebook\.com/{FACEBOOK_PAGE_ID}/posts/\d+$"),
    "x": re.compile(rf"^https://x\.com/{X_USERNAME}/status/\d+$"),
}


# -- servers --------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(config: SandboxConfig) -> SandboxHTTPServer:
    server = make_server(config, "127.0.0.1", 0)
    serve_in_thread(server)
    return server


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHTTPServer]:
    server = _start(SandboxConfig(token=TOKEN, in_progress_polls=1))
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _clean(sandbox: SandboxHTTPServer) -> None:
    requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=5).raise_for_status()


@pytest.fixture(scope="module")
def s3() -> Iterator[object]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    client = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=BUCKET)
    yield client
    moto.stop()


# -- content ----------------------------------------------------------------------------------------------
def picture(width: int, height: int, fmt: str = "JPEG", *, gps: bool = False, noise: bool = False) -> bytes:
    """An image made here: a flat colour, or random noise (which does not compress)."""
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (20, 110, 170))
    exif = Image.Exif()
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update({ExifTags.GPS.GPSLatitudeRef: "S",
                                                  ExifTags.GPS.GPSLatitude: (6.0, 10.0, 30.0)})
    out = io.BytesIO()
    image.save(out, fmt, **({"exif": exif} if gps else {}))
    return out.getvalue()


@pytest.fixture()
def image(s3: object) -> Callable[..., ImageRef]:
    """Put bytes in the bucket and describe them as the uploader would: presigned URL plus bytes."""
    def make(name: str, data: bytes, content_type: str = "image/jpeg") -> ImageRef:
        key = f"pipeline/test/renditions/{name}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType=content_type)
        url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600)
        return ImageRef(name, url, data, content_type)
    return make


@pytest.fixture()
def client(sandbox: SandboxHTTPServer) -> Callable[..., PlatformClient]:
    def make(channel: str, *, token: str = TOKEN, timeout: float = 10.0) -> PlatformClient:
        config = ClientConfig(sandbox.base_url, token, ACCOUNTS[channel], timeout=timeout)
        return make_client(channel, config)
    return make


def sandbox_posts(sandbox: SandboxHTTPServer) -> list[dict]:
    return requests.get(f"{sandbox.base_url}/_sandbox/posts", timeout=5).json()


def arm(sandbox: SandboxHTTPServer, channel: str, operation: str, mode: str, **extra: object) -> None:
    body = {"channel": channel, "operation": operation, "mode": mode, **extra}
    requests.post(f"{sandbox.base_url}/_sandbox/faults", json=body, timeout=5).raise_for_status()


def square(image: Callable[..., ImageRef], n: int) -> tuple[ImageRef, ...]:
    return tuple(image(f"slide-{i}.jpg", picture(1080, 1080 + i)) for i in range(n))


def assert_published(sandbox: SandboxHTTPServer, published: PublishedPost, caption: str, n_images: int) -> None:
    assert PERMALINKS[published.channel].match(published.permalink), published.permalink
    assert datetime.fromisoformat(published.published_at).tzinfo is not None
    [post] = [p for p in sandbox_posts(sandbox) if p["id"] == published.remote_id]
    assert (post["channel"], post["permalink"], len(post["images"])) == (published.channel, published.permalink,
                                                                          n_images)
    assert post["caption"] == caption


# -- publishing -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("channel", ["instagram", "facebook", "x"])
def test_single_image_post_gets_a_permalink(sandbox, client, image, channel: str) -> None:
    caption = f"Kerja bakti di Kelurahan Pasiran #{channel} @diskominfo"
    published = client(channel).publish(PostRequest("item-1", caption, (image("poster.jpg", picture(1080, 1350)),)))
    assert published.channel == channel
    assert_published(sandbox, published, caption, 1)


@pytest.mark.parametrize(("channel", "count"), [("instagram", 3), ("facebook", 3), ("x", 4)])
def test_multi_image_post(sandbox, client, image, channel: str, count: int) -> None:
    caption = f"Dokumentasi HUT Kota, {count} foto"
    published = client(channel).publish(PostRequest("item-2", caption, square(image, count)))
    assert_published(sandbox, published, caption, count)


def test_the_platform_answers_with_the_same_permalink(sandbox, client, image) -> None:
    published = client("instagram").publish(PostRequest("item-3", "Satu", (image("a.jpg", picture(1080, 1080)),)))
    node = requests.get(f"{sandbox.base_url}/v21.0/{published.remote_id}", params={"fields": "permalink"},
                        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).json()
    assert node == {"id": published.remote_id, "permalink": published.permalink}


def test_sandbox_lists_exactly_what_was_published(sandbox, client, image) -> None:
    gps_photo = picture(1200, 900, gps=True)
    made = [
        client("instagram").publish(PostRequest("item-4", "IG", (image("ig.jpg", picture(1080, 1080)),))),
        client("facebook").publish(PostRequest("item-4", "FB", (image("fb.jpg", gps_photo),))),
        client("x").publish(PostRequest("item-4", "X", (image("x.png", picture(800, 800, "PNG"), "image/png"),))),
    ]
    posts = sandbox_posts(sandbox)
    assert [(p["channel"], p["id"]) for p in posts] == [(m.channel, m.remote_id) for m in made]
    fb = posts[1]["images"][0]
    assert fb == {"sha256": hashlib.sha256(gps_photo).hexdigest(), "width": 1200, "height": 900, "format": "JPEG",
                  "bytes": len(gps_photo), "exif_gps": True}
    assert posts[2]["images"][0]["format"] == "PNG" and posts[0]["images"][0]["exif_gps"] is False
    stored = requests.get(f"{sandbox.base_url}/_sandbox/media/facebook/{made[1].remote_id}/0", timeout=5)
    assert stored.content == gps_photo and stored.headers["Content-Type"] == "image/jpeg"


# -- rejections -----------------------------------------------------------------------------------------
def _refused(sandbox, client, channel: str, post: PostRequest, *expected: str, token: str = TOKEN) -> PlatformError:
    with pytest.raises(PlatformError) as caught:
        client(channel, token=token).publish(post)
    message = str(caught.value)
    assert message.startswith(f"{channel}: ") and "What to do:" in message, message
    for fragment in expected:
        assert fragment in message, message
    assert caught.value.retryable is False
    assert TOKEN not in message
    assert sandbox_posts(sandbox) == []
    return caught.value


def test_instagram_refuses_a_png(sandbox, client, image) -> None:
    png = image("poster.jpg", picture(1080, 1080, "PNG"))     # named .jpg, but the bytes are PNG
    _refused(sandbox, client, "instagram", PostRequest("item-5", "x", (png,)),
             "image format is not supported", "PNG", "code 36001/2207005", "re-export the image")


def test_instagram_refuses_a_wrong_aspect_ratio(sandbox, client, image) -> None:
    _refused(sandbox, client, "instagram", PostRequest("item-6", "x", (image("wide.jpg", picture(1080, 400)),)),
             "aspect ratio", "above the maximum 1.91", "code 36003/2207009")


def test_instagram_refuses_a_too_wide_image(sandbox, client, image) -> None:
    _refused(sandbox, client, "instagram", PostRequest("item-7", "x", (image("big.jpg", picture(1600, 1600)),)),
             "width 1600px is outside 320..1440px")


@pytest.mark.parametrize(("caption", "what"), [
    ("a" * 2201, "2201 characters (max 2200)"),
    (" ".join(f"#tag{i}" for i in range(31)), "31 hashtags (max 30)"),
    (" ".join(f"@user{i}" for i in range(21)), "21 @ tags (max 20)"),
])
def test_instagram_refuses_a_caption_over_the_limits(sandbox, client, image, caption: str, what: str) -> None:
    _refused(sandbox, client, "instagram", PostRequest("item-8", caption, (image("ok.jpg", picture(1080, 1080)),)),
             "caption was too long", what, "shorten the caption")


def test_instagram_refuses_more_than_ten_carousel_items(sandbox, client, image) -> None:
    _refused(sandbox, client, "instagram", PostRequest("item-9", "x", square(image, 11)),
             "no more than 10 photos", "code 100/2207028")


def test_x_refuses_more_than_four_images(sandbox, client, image) -> None:
    _refused(sandbox, client, "x", PostRequest("item-10", "lima foto", square(image, 5)),
             "array size 5 exceeds the maximum 4", "HTTP 400")


def test_x_refuses_an_image_over_5_mb(sandbox, client, image) -> None:
    big = picture(1500, 1500, "PNG", noise=True)
    assert len(big) > 5 * 1024 * 1024
    _refused(sandbox, client, "x", PostRequest("item-11", "besar", (image("big.png", big, "image/png"),)),
             "File size exceeds 5242880 bytes")


def test_x_refuses_text_over_280_characters(sandbox, client, image) -> None:
    text = "a" * 260 + " https://example.go.id/very/long/path/that/counts/as/23"   # 260 + 1 + 23 = 284
    _refused(sandbox, client, "x", PostRequest("item-12", text, ()), "284 characters", "at most 280")


def test_x_text_with_a_long_url_counts_the_url_as_23(sandbox, client) -> None:
    text = "a" * 250 + " https://example.go.id/" + "p" * 100                     # 250 + 1 + 23 = 274
    published = client("x").publish(PostRequest("item-13", text, ()))
    assert client("x").find_existing(PostRequest("item-13", text, ()), datetime.now(timezone.utc)
                                     - timedelta(minutes=1)) == published


@pytest.mark.parametrize("channel", ["instagram", "facebook", "x"])
def test_a_bad_token_is_refused_and_never_shown(sandbox, client, image, channel: str) -> None:
    post = PostRequest("item-14", "token salah", (image("ok.jpg", picture(1080, 1080)),))
    error = _refused(sandbox, client, channel, post, "renew the access token", token="wrong-" + TOKEN)
    assert "wrong-" not in str(error)
    assert error.status == (401 if channel == "x" else 400)


# -- uncertain outcomes and retries ---------------------------------------------------------------------
@pytest.mark.parametrize(("channel", "operation", "count", "delay"), [
    ("instagram", "media_publish", 1, 1.5),     # answer too late: the client's read timeout fires
    ("facebook", "photos", 1, 0.0),             # no answer at all: the connection is dropped
    ("facebook", "feed", 2, 1.5),
    ("x", "tweets", 2, 0.0),
])
def test_a_lost_answer_is_uncertain_and_the_post_is_then_found(sandbox, client, image, channel: str,
                                                               operation: str, count: int, delay: float) -> None:
    arm(sandbox, channel, operation, "timeout_after_commit", delay_seconds=delay)
    post = PostRequest("item-15", f"Pengumuman {channel} {operation}", square(image, count))
    since = datetime.now(timezone.utc)
    with pytest.raises(PublishUncertainError, match="may have been published"):
        client(channel, timeout=0.8).publish(post)
    found = client(channel).find_existing(post, since)
    [posted] = sandbox_posts(sandbox)
    assert found is not None and found.remote_id == posted["id"] and found.permalink == posted["permalink"]


def test_publish_once_never_posts_twice_after_a_lost_answer(sandbox, client, image, s3) -> None:
    store = Store(s3, BUCKET)
    post = PostRequest("item-16", "Sekali saja", (image("ok.jpg", picture(1080, 1080)),))
    arm(sandbox, "x", "tweets", "timeout_after_commit")
    published = publish_once(store, client("x", timeout=0.8), post)
    again = publish_once(store, client("x"), post)
    assert again == published and len(sandbox_posts(sandbox)) == 1
    assert read_record(store, "item-16", "x")["confirmed_by"] == "found on platform after a timeout"
    assert store.exists(layout.publish_key("item-16", "x"))


def test_find_existing_ignores_other_captions_and_older_posts(sandbox, client, image) -> None:
    x = client("x")
    x.publish(PostRequest("item-17", "Lama", ()))
    later = datetime.now(timezone.utc) + timedelta(seconds=2)
    assert x.find_existing(PostRequest("item-17", "Lama", ()), later) is None
    assert x.find_existing(PostRequest("item-17", "Baru", ()), datetime.now(timezone.utc) - timedelta(hours=1)) is None


def test_a_lost_answer_on_a_preparatory_step_is_retryable(sandbox, client, image) -> None:
    arm(sandbox, "x", "media_upload", "timeout_after_commit")
    with pytest.raises(PlatformError) as caught:
        client("x", timeout=0.8).publish(PostRequest("item-18", "persiapan", square(image, 1)))
    assert caught.value.retryable and "nothing was published" in str(caught.value)
    assert sandbox_posts(sandbox) == []


def test_an_unreachable_platform_is_not_uncertain() -> None:
    config = ClientConfig(f"http://127.0.0.1:{_free_port()}", TOKEN, X_USER_ID, timeout=2)
    with pytest.raises(PlatformError) as caught:
        make_client("x", config).publish(PostRequest("item-19", "tidak sampai", ()))
    assert caught.value.retryable and "nothing was published" in str(caught.value)


@pytest.mark.parametrize(("channel", "operation", "expected"), [
    ("instagram", "media_publish", "code 4"),
    ("facebook", "photos", "code 32"),
    ("x", "tweets", "X allows more after"),
])
def test_rate_limits_are_retryable(sandbox, client, image, channel: str, operation: str, expected: str) -> None:
    arm(sandbox, channel, operation, "rate_limit")
    with pytest.raises(PlatformError) as caught:
        client(channel).publish(PostRequest("item-20", "dibatasi", square(image, 1)))
    assert caught.value.retryable and expected in str(caught.value)
    assert sandbox_posts(sandbox) == []


@pytest.mark.parametrize(("channel", "operation"), [("instagram", "media"), ("facebook", "photos"),
                                                    ("x", "media_upload")])
def test_server_errors_before_the_post_are_retryable(sandbox, client, image, channel: str, operation: str) -> None:
    arm(sandbox, channel, operation, "error_500")
    with pytest.raises(PlatformError) as caught:
        client(channel).publish(PostRequest("item-21", "galat", square(image, 2)))
    assert caught.value.retryable and caught.value.status == 500 and "temporary platform problem" in str(caught.value)


@pytest.mark.parametrize(("channel", "operation"), [("instagram", "media_publish"), ("facebook", "feed"),
                                                    ("x", "tweets")])
def test_a_server_error_on_the_post_itself_is_uncertain(sandbox, client, image, channel: str, operation: str) -> None:
    arm(sandbox, channel, operation, "error_500")
    post = PostRequest("item-21", "galat", square(image, 2))
    since = datetime.now(timezone.utc)
    with pytest.raises(PublishUncertainError, match="HTTP 500.*may exist"):
        client(channel).publish(post)
    assert client(channel).find_existing(post, since) is None      # this fault fails before the post is made
    assert client(channel).publish(post).channel == channel
    assert len(sandbox_posts(sandbox)) == 1


# -- Instagram specifics ----------------------------------------------------------------------------------
def test_instagram_quota_counts_down(sandbox, client, image) -> None:
    instagram = client("instagram")
    assert instagram.remaining_quota() == INSTAGRAM_QUOTA_TOTAL
    instagram.publish(PostRequest("item-22", "kuota", square(image, 2)))      # a carousel counts once
    assert instagram.remaining_quota() == INSTAGRAM_QUOTA_TOTAL - 1
    assert client("facebook").remaining_quota() is None and client("x").remaining_quota() is None


def test_instagram_refuses_posts_over_the_quota(image) -> None:
    server = _start(SandboxConfig(token=TOKEN, in_progress_polls=0, instagram_quota_total=1))
    try:
        instagram = make_client("instagram", ClientConfig(server.base_url, TOKEN, INSTAGRAM_USER_ID))
        instagram.publish(PostRequest("item-23", "satu", (image("a.jpg", picture(1080, 1080)),)))
        with pytest.raises(PlatformError) as caught:
            instagram.publish(PostRequest("item-23", "dua", (image("b.jpg", picture(1080, 1080)),)))
        assert caught.value.retryable and "24-hour publishing limit" in str(caught.value)
        assert instagram.remaining_quota() == 0
    finally:
        server.shutdown()
        server.server_close()


def test_a_container_cannot_be_published_twice(sandbox, image) -> None:
    graph = f"{sandbox.base_url}/v21.0/{INSTAGRAM_USER_ID}"
    auth = {"access_token": TOKEN}
    url = image("a.jpg", picture(1080, 1080)).url
    container = requests.post(f"{graph}/media", data={"image_url": url, **auth}, timeout=10).json()["id"]
    statuses = [requests.get(f"{sandbox.base_url}/v21.0/{container}", params={"fields": "status_code", **auth},
                             timeout=5).json()["status_code"] for _ in range(2)]
    assert statuses == ["IN_PROGRESS", "FINISHED"]
    first = requests.post(f"{graph}/media_publish", data={"creation_id": container, **auth}, timeout=5)
    second = requests.post(f"{graph}/media_publish", data={"creation_id": container, **auth}, timeout=5)
    assert first.status_code == 200 and second.status_code == 400
    assert set(second.json()["error"]) >= {"message", "type", "code", "error_subcode", "fbtrace_id"}
    assert len(sandbox_posts(sandbox)) == 1


def test_unknown_accounts_get_the_platforms_not_found_answer(sandbox) -> None:
    graph = requests.get(f"{sandbox.base_url}/v21.0/17841499999999999/media", params={"access_token": TOKEN},
                         timeout=5)
    assert graph.status_code == 400 and graph.json()["error"]["code"] == 100
    x = requests.get(f"{sandbox.base_url}/2/users/42/tweets", headers={"Authorization": f"Bearer {TOKEN}"},
                     timeout=5)
    assert x.json()["errors"][0]["title"] == "Not Found Error"


def test_state_file_keeps_posts_across_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    post = PostRequest("item-24", "tetap ada", ())
    first = _start(SandboxConfig(token=TOKEN, state_file=state_file))
    published = make_client("x", ClientConfig(first.base_url, TOKEN, X_USER_ID)).publish(post)
    first.shutdown()
    first.server_close()
    second = _start(SandboxConfig(token=TOKEN, state_file=state_file))
    try:
        found = make_client("x", ClientConfig(second.base_url, TOKEN, X_USER_ID)).find_existing(
            post, datetime.now(timezone.utc) - timedelta(minutes=1))
        assert found == published
    finally:
        second.shutdown()
        second.server_close()


# -- sandbox rules without HTTP -----------------------------------------------------------------------
def test_sandbox_counts_x_text_like_x() -> None:
    from humas.sandbox.xapi import weighted_length
    assert weighted_length("halo https://example.go.id/" + "p" * 100) == 5 + 23
    assert weighted_length("Selamat Hari Jadi 🎉") == 18 + 2
    assert weighted_length("日本 https://a.id/x https://b.id/y") == 4 + 1 + 23 + 1 + 23


def test_sandbox_refuses_a_bad_fault() -> None:
    from humas.sandbox.state import check_fault
    with pytest.raises(ValueError, match="operation for x must be one of"):
        check_fault({"channel": "x", "operation": "photos", "mode": "error_500"})
