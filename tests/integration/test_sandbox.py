"""The uploader's API clients against the platform sandbox, over real HTTP.

Images for Instagram are fetched by the sandbox from presigned URLs on a moto S3 server, as Meta
fetches them from the production bucket.
"""
from __future__ import annotations

import hashlib
import io
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from PIL import ExifTags, Image

from humas import layout
from humas.exceptions import PlatformError, PublishUncertainError, QuotaExhausted
from humas.platforms import ClientConfig, MediaRef, PlatformClient, PostRequest, PublishedPost, make_client
from humas.publish import post_text, publish_once, read_record
from humas.store import Store
from humas_dev.net import free_port
from humas_dev.sandbox import (
    FACEBOOK_PAGE_ID, INSTAGRAM_QUOTA_TOTAL, INSTAGRAM_USER_ID, X_USER_ID, X_USERNAME, SandboxConfig, SandboxHTTPServer,
    make_server, serve_in_thread,
)

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
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
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
def image(s3: object) -> Callable[..., MediaRef]:
    """Put bytes in the bucket and describe them as the uploader would: presigned URL plus bytes."""
    def make(name: str, data: bytes, content_type: str = "image/jpeg") -> MediaRef:
        key = f"pipeline/test/renditions/{name}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType=content_type)
        url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600)
        return MediaRef(name, url, data, content_type)
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


def square(image: Callable[..., MediaRef], n: int) -> tuple[MediaRef, ...]:
    return tuple(image(f"slide-{i}.jpg", picture(1080, 1080 + i)) for i in range(n))


def assert_published(sandbox: SandboxHTTPServer, published: PublishedPost, text: str, n_images: int) -> None:
    """The post is on the platform with exactly `text` (what `post_text` promised) and `n_images` images."""
    assert PERMALINKS[published.channel].match(published.permalink), published.permalink
    assert datetime.fromisoformat(published.published_at).tzinfo is not None
    [post] = [p for p in sandbox_posts(sandbox) if p["id"] == published.remote_id]
    assert (post["channel"], post["permalink"], len(post["images"])) == (published.channel, published.permalink,
                                                                          n_images)
    assert post["caption"] == text


# -- publishing -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("channel", ["instagram", "facebook", "x"])
def test_single_image_post_gets_a_permalink(sandbox, client, image, channel: str) -> None:
    caption = f"Kerja bakti di Kelurahan Pasiran #{channel} @diskominfo"
    published = client(channel).publish(PostRequest("item-1", caption, (image("poster.jpg", picture(1080, 1350)),)))
    assert published.channel == channel
    assert_published(sandbox, published, post_text(caption, "item-1", channel), 1)
    assert post_text(caption, "item-1", channel).startswith(caption + "\n\nRef. ")


@pytest.mark.parametrize(("channel", "count"), [("instagram", 3), ("facebook", 3), ("x", 4)])
def test_multi_image_post(sandbox, client, image, channel: str, count: int) -> None:
    caption = f"Dokumentasi HUT Kota, {count} foto"
    published = client(channel).publish(PostRequest("item-2", caption, square(image, count)))
    assert_published(sandbox, published, post_text(caption, "item-2", channel), count)


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
    ("a" * 2190, "2205 characters (max 2200)"),          # the caption fits; with the reference it does not
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
    text = "a" * 245 + " https://example.go.id/very/long/path/that/counts/as/23"   # 245 + 1 + 23 + 15 = 284
    _refused(sandbox, client, "x", PostRequest("item-12", text, ()), "284 characters", "at most 280")


def test_x_text_with_a_long_url_counts_the_url_as_23(sandbox, client) -> None:
    text = "a" * 235 + " https://example.go.id/" + "p" * 100                 # 235 + 1 + 23 + reference 15 = 274
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


@pytest.mark.parametrize("channel", ["instagram", "facebook", "x"])
def test_find_existing_looks_for_the_items_reference_not_its_caption(sandbox, client, image, channel: str) -> None:
    platform, hour_ago = client(channel), datetime.now(timezone.utc) - timedelta(hours=1)
    published = platform.publish(PostRequest("item-17", "Lama", square(image, 1)))
    assert platform.find_existing(PostRequest("item-17", "Caption diubah", ()), hour_ago) == published
    assert platform.find_existing(PostRequest("item-17b", "Lama", ()), hour_ago) is None       # same caption
    later = datetime.now(timezone.utc) + timedelta(seconds=2)
    assert platform.find_existing(PostRequest("item-17", "Lama", ()), later) is None           # older post


def test_a_lost_answer_on_a_preparatory_step_is_retryable(sandbox, client, image) -> None:
    arm(sandbox, "x", "media_upload", "timeout_after_commit")
    with pytest.raises(PlatformError) as caught:
        client("x", timeout=0.8).publish(PostRequest("item-18", "persiapan", square(image, 1)))
    assert caught.value.retryable and "nothing was published" in str(caught.value)
    assert sandbox_posts(sandbox) == []


def test_an_unreachable_platform_is_not_uncertain() -> None:
    config = ClientConfig(f"http://127.0.0.1:{free_port()}", TOKEN, X_USER_ID, timeout=2)
    with pytest.raises(PlatformError) as caught:
        make_client("x", config).publish(PostRequest("item-19", "tidak sampai", ()))
    assert caught.value.retryable and "nothing was published" in str(caught.value)


@pytest.mark.parametrize(("channel", "operation", "expected"), [
    ("instagram", "media_publish", "code 4"),
    ("facebook", "photos", "code 32"),
    ("x", "tweets", "X allows more after"),
])
def test_a_rate_limit_says_when_it_frees(sandbox, client, image, channel: str, operation: str, expected: str) -> None:
    # Graph tells it in X-Business-Use-Case-Usage (whole minutes), X in x-rate-limit-reset (epoch seconds)
    arm(sandbox, channel, operation, "rate_limit", retry_after=120)
    before = datetime.now(timezone.utc)
    with pytest.raises(QuotaExhausted) as caught:
        client(channel).publish(PostRequest("item-20", "dibatasi", square(image, 1)))
    assert caught.value.retryable and caught.value.shared and expected in str(caught.value)
    assert before + timedelta(seconds=118) <= caught.value.until <= datetime.now(timezone.utc) + timedelta(seconds=122)
    assert sandbox_posts(sandbox) == []


@pytest.mark.parametrize(("channel", "operation"), [("instagram", "media"), ("facebook", "photos"), ("x", "tweets")])
def test_a_429_with_retry_after_is_a_quota_wait_on_every_channel(sandbox, client, image, channel: str,
                                                                  operation: str) -> None:
    arm(sandbox, channel, operation, "http_429", retry_after=300)
    before = datetime.now(timezone.utc)
    with pytest.raises(QuotaExhausted) as caught:
        client(channel).publish(PostRequest("item-20", "dibatasi", square(image, 1)))
    assert caught.value.status == 429
    assert before + timedelta(seconds=299) <= caught.value.until <= datetime.now(timezone.utc) + timedelta(seconds=301)


def test_x_answers_every_post_with_its_window_and_refuses_the_one_over_it(image) -> None:
    server = _start(SandboxConfig(token=TOKEN, x_post_limit=2, x_post_window=600))
    try:
        x = make_client("x", ClientConfig(server.base_url, TOKEN, X_USER_ID))
        x.publish(PostRequest("item-30", "satu", ()))
        assert x.observed_until() is None                        # x-rate-limit-remaining: 1
        x.publish(PostRequest("item-31", "dua", ()))
        reset = x.observed_until()                               # x-rate-limit-remaining: 0
        assert reset is not None and reset > datetime.now(timezone.utc) + timedelta(seconds=590)
        with pytest.raises(QuotaExhausted) as caught:
            x.publish(PostRequest("item-32", "tiga", ()))
        assert caught.value.until == reset and caught.value.status == 429
        assert len(requests.get(f"{server.base_url}/_sandbox/posts", timeout=5).json()) == 2
    finally:
        server.shutdown()
        server.server_close()


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


def test_instagram_refuses_posts_over_the_quota_and_says_when_the_window_frees(image) -> None:
    server = _start(SandboxConfig(token=TOKEN, in_progress_polls=0, instagram_quota_total=1))
    try:
        instagram = make_client("instagram", ClientConfig(server.base_url, TOKEN, INSTAGRAM_USER_ID))
        first = instagram.publish(PostRequest("item-23", "satu", (image("a.jpg", picture(1080, 1080)),)))
        with pytest.raises(QuotaExhausted) as caught:
            instagram.publish(PostRequest("item-23", "dua", (image("b.jpg", picture(1080, 1080)),)))
        made = datetime.fromisoformat(first.published_at)
        assert "code 9" in str(caught.value) and not caught.value.shared
        assert made + timedelta(hours=24) <= caught.value.until <= made + timedelta(hours=24, seconds=2)
        assert instagram.remaining_quota() == 0
    finally:
        server.shutdown()
        server.server_close()


def test_instagram_quota_until_gives_each_place_in_line_its_own_slot(image) -> None:
    server = _start(SandboxConfig(token=TOKEN, in_progress_polls=0, instagram_quota_total=2))
    try:
        instagram = make_client("instagram", ClientConfig(server.base_url, TOKEN, INSTAGRAM_USER_ID))
        assert instagram.quota_until(0) is None and instagram.quota_until(1) is None
        assert instagram.quota_until(2) is not None               # two may post now, the third waits
        made = [datetime.fromisoformat(instagram.publish(PostRequest(f"item-4{n}", f"ke-{n}", (
            image(f"{n}.jpg", picture(1080, 1080 + n)),))).published_at) for n in range(2)]
        day = timedelta(hours=24)
        slots = [instagram.quota_until(rank) for rank in range(3)]
        for slot, due in zip(slots, [made[0] + day, made[1] + day, made[0] + 2 * day]):
            assert slot is not None and due <= slot <= due + timedelta(seconds=2)
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


def test_faults_left_armed_are_disarmed_at_once(sandbox: SandboxHTTPServer) -> None:
    arm(sandbox, "x", "tweets", "error_500", count=5)
    arm(sandbox, "facebook", "photos", "http_429", after=3)
    cleared = requests.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=5)
    assert cleared.json() == {"cleared": 2}
    assert requests.get(f"{sandbox.base_url}/_sandbox/faults", timeout=5).json() == []


# -- sandbox rules without HTTP -----------------------------------------------------------------------
def test_sandbox_refuses_a_bad_fault() -> None:
    from humas_dev.sandbox.state import check_fault
    with pytest.raises(ValueError, match="operation for x must be one of"):
        check_fault({"channel": "x", "operation": "photos", "mode": "error_500"})


# -- Instagram stories --------------------------------------------------------------------------------------
STORY_LINK = re.compile(r"^https://www\.instagram\.com/stories/humas_sandbox/\d+/$")


def poster(seed: int, width: int = 1080, height: int = 1920) -> bytes:
    """A 9:16 design of coloured blocks, different for every seed (so its difference hash is too)."""
    rng = random.Random(seed)
    blocks = Image.frombytes("RGB", (9, 16), bytes(rng.randrange(256) for _ in range(9 * 16 * 3)))
    out = io.BytesIO()
    blocks.resize((width, height), Image.Resampling.NEAREST).save(out, "JPEG", quality=90)
    return out.getvalue()


def story_request(image: Callable[..., MediaRef], item_id: str, *seeds: int) -> PostRequest:
    return PostRequest(item_id, "Ikuti HUT Kota! #Singkawang",
                       tuple(image(f"{item_id}-{seed}.jpg", poster(seed)) for seed in seeds), "story")


def graph_get(sandbox: SandboxHTTPServer, path: str, **params: str) -> dict:
    return requests.get(f"{sandbox.base_url}/v21.0/{path}", params={"access_token": TOKEN, **params}, timeout=5).json()


def stories_of(sandbox: SandboxHTTPServer) -> list[dict]:
    return [p for p in sandbox_posts(sandbox) if p["placement"] == "story"]


def test_a_story_is_published_as_a_story_without_text(sandbox, client, image) -> None:
    post = story_request(image, "item-30", 1)
    published = client("instagram").publish(post)
    [story] = sandbox_posts(sandbox)
    assert (story["id"], story["placement"], story["caption"]) == (published.remote_id, "story", "")
    assert STORY_LINK.match(published.permalink) and story["permalink"] == published.permalink
    assert story["images"][0]["sha256"] == hashlib.sha256(post.images[0].data).hexdigest()
    assert post_text(post.caption, "item-30", "instagram", "story") == ""         # what the approver is shown
    # as on Instagram: listed among the account's stories, not its feed
    assert [s["id"] for s in graph_get(sandbox, f"{INSTAGRAM_USER_ID}/stories")["data"]] == [published.remote_id]
    assert graph_get(sandbox, f"{INSTAGRAM_USER_ID}/media")["data"] == []


def test_a_feed_post_is_not_a_story(sandbox, client, image) -> None:
    client("instagram").publish(PostRequest("item-31", "Feed", (image("a.jpg", picture(1080, 1080)),), "feed"))
    assert [p["placement"] for p in sandbox_posts(sandbox)] == ["feed"]
    assert graph_get(sandbox, f"{INSTAGRAM_USER_ID}/stories")["data"] == []


def test_the_sandbox_refuses_a_caption_on_a_story(sandbox, image) -> None:
    url = image("s.jpg", poster(2)).url
    answer = requests.post(f"{sandbox.base_url}/v21.0/{INSTAGRAM_USER_ID}/media", timeout=10, data={
        "image_url": url, "media_type": "STORIES", "caption": "teks", "access_token": TOKEN})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == 100
    assert "caption is not supported for media_type STORIES" in answer.json()["error"]["message"]
    plain = requests.post(f"{sandbox.base_url}/v21.0/{INSTAGRAM_USER_ID}/media", timeout=10, data={
        "image_url": url, "media_type": "STORIES", "access_token": TOKEN})
    assert plain.status_code == 200 and "id" in plain.json()


def test_several_images_become_several_stories_each_recorded(sandbox, client, image, s3) -> None:
    store = Store(s3, BUCKET)
    post = story_request(image, "item-32", 3, 4, 5)
    published = publish_once(store, client("instagram"), post)
    stories = stories_of(sandbox)
    assert [s["images"][0]["sha256"] for s in stories] == [hashlib.sha256(i.data).hexdigest() for i in post.images]
    assert published.parts == tuple(s["permalink"] for s in stories)
    assert (published.remote_id, published.permalink) == (stories[0]["id"], stories[0]["permalink"])
    record = read_record(store, "item-32", "instagram")
    assert [record["progress"][f"story-{n}"]["media"] for n in range(3)] == [s["id"] for s in stories]
    assert record["post"]["parts"] == [s["permalink"] for s in stories]
    assert publish_once(store, client("instagram"), post) == published and len(stories_of(sandbox)) == 3


def test_a_story_series_broken_off_resumes_without_posting_any_story_twice(sandbox, client, image, s3) -> None:
    store = Store(s3, BUCKET)
    post = story_request(image, "item-33", 6, 7, 8)
    arm(sandbox, "instagram", "media", "error_500", after=1)          # the second story's container fails
    with pytest.raises(PlatformError) as caught:
        publish_once(store, client("instagram"), post)
    assert caught.value.retryable
    assert read_record(store, "item-33", "instagram")["state"] == "failed" and len(stories_of(sandbox)) == 1
    published = publish_once(store, client("instagram"), post)
    stories = stories_of(sandbox)
    assert [s["images"][0]["sha256"] for s in stories] == [hashlib.sha256(i.data).hexdigest() for i in post.images]
    assert published.parts == tuple(s["permalink"] for s in stories)


def test_a_lost_story_answer_is_found_by_its_container_and_picture(sandbox, client, image, s3) -> None:
    store = Store(s3, BUCKET)
    other = client("instagram").publish(story_request(image, "item-34-other", 9))    # another item's story, just now
    post = story_request(image, "item-34", 10, 11)
    arm(sandbox, "instagram", "media_publish", "timeout_after_commit")
    with pytest.raises(PublishUncertainError):          # story 1 found; story 2 is left for the retry
        publish_once(store, client("instagram", timeout=0.8), post)
    record = read_record(store, "item-34", "instagram")
    [first] = [s for s in stories_of(sandbox) if s["images"][0]["sha256"] == hashlib.sha256(post.images[0].data)
               .hexdigest()]
    assert record["progress"]["story-0"]["media"] == first["id"] != other.remote_id
    published = publish_once(store, client("instagram"), post)
    assert len(stories_of(sandbox)) == 3 and published.parts[0] == first["permalink"]


def test_a_published_story_that_cannot_be_identified_is_never_sent_again(sandbox, client, image, s3) -> None:
    store = Store(s3, BUCKET)
    served = image("item-35.jpg", poster(12))
    post = PostRequest("item-35", "", (MediaRef(served.name, served.url, b"", served.content_type),), "story")
    arm(sandbox, "instagram", "media_publish", "timeout_after_commit")
    for timeout in (0.8, 10.0):                 # no bytes to compare, so its picture cannot be matched
        with pytest.raises(PublishUncertainError):
            publish_once(store, client("instagram", timeout=timeout), post)
    assert len(stories_of(sandbox)) == 1
    assert read_record(store, "item-35", "instagram")["state"] == "attempting"


# -- exactly once: the item's reference, and failures that may hide a post -----------------------------------
COMMITS = {"instagram": "media_publish", "facebook": "photos", "x": "tweets"}


@pytest.mark.parametrize("channel", ["instagram", "facebook", "x"])
def test_a_post_made_then_answered_with_a_server_error_is_found_not_sent_again(sandbox, client, image, s3,
                                                                              channel: str) -> None:
    store = Store(s3, BUCKET)
    post = PostRequest("item-40", "Jadwal vaksinasi", square(image, 1))
    arm(sandbox, channel, COMMITS[channel], "error_500_after_commit")
    published = publish_once(store, client(channel), post)
    [made] = sandbox_posts(sandbox)
    assert (published.remote_id, made["caption"]) == (made["id"], post_text(post.caption, "item-40", channel))
    assert publish_once(store, client(channel), post) == published and len(sandbox_posts(sandbox)) == 1


@pytest.mark.parametrize("channel", ["instagram", "facebook", "x"])
def test_a_failed_attempt_whose_post_exists_is_found_before_sending_again(sandbox, client, image, s3,
                                                                         channel: str) -> None:
    store = Store(s3, BUCKET)
    post = PostRequest("item-41", "Jadwal vaksinasi", square(image, 1))
    arm(sandbox, channel, COMMITS[channel], "rate_limit_after_commit")   # the post is made, the answer refuses
    with pytest.raises(PlatformError):
        publish_once(store, client(channel), post)
    assert read_record(store, "item-41", channel)["state"] == "failed" and len(sandbox_posts(sandbox)) == 1
    published = publish_once(store, client(channel), post)
    [made] = sandbox_posts(sandbox)
    assert published.remote_id == made["id"]
    record = read_record(store, "item-41", channel)
    assert (record["state"], record["attempts"], record["error"]) == ("published", 1, None)
    assert record["confirmed_by"] == "found on platform after a failed attempt"


@pytest.mark.parametrize("channel", ["instagram", "facebook", "x"])
def test_two_items_with_one_caption_a_lost_answer_finds_the_right_post(sandbox, client, image, s3,
                                                                      channel: str) -> None:
    store, caption = Store(s3, BUCKET), "Pemadaman listrik bergilir hari ini. #InfoKota"
    second = PostRequest("item-42b", caption, square(image, 1))
    # item-42b's worker sends its post and dies before the answer: its record says "attempting" ...
    store.put_json(layout.publish_key("item-42b", channel),
                   {"state": "attempting", "attempts": 1, "started_at": datetime.now(timezone.utc).isoformat()})
    arm(sandbox, channel, COMMITS[channel], "timeout_after_commit")
    with pytest.raises(PublishUncertainError):
        client(channel, timeout=0.8).publish(second)
    # ... then item-42a, same caption, is published: it is now the account's newest post with that caption
    first = publish_once(store, client(channel), PostRequest("item-42a", caption, square(image, 1)))
    found = publish_once(store, client(channel), second)
    posts = sandbox_posts(sandbox)
    assert len(posts) == 2 and found.remote_id != first.remote_id
    [mine] = [p for p in posts if p["id"] == found.remote_id]
    assert mine["caption"] == post_text(caption, "item-42b", channel)
    assert read_record(store, "item-42b", channel)["confirmed_by"] == "found on platform after an interrupted attempt"


@pytest.mark.parametrize("channel", ["instagram", "facebook", "x"])
def test_two_items_with_one_caption_the_other_items_post_is_not_taken_for_it(sandbox, client, image, s3,
                                                                            channel: str) -> None:
    store, caption = Store(s3, BUCKET), "Pemadaman listrik bergilir hari ini. #InfoKota"
    first = publish_once(store, client(channel), PostRequest("item-43a", caption, square(image, 1)))
    arm(sandbox, channel, COMMITS[channel], "error_500")                  # refused before the post is made
    second_post = PostRequest("item-43b", caption, square(image, 1))
    with pytest.raises(PublishUncertainError):                            # it looked, and found nothing of its own
        publish_once(store, client(channel), second_post)
    second = publish_once(store, client(channel), second_post)
    assert second.remote_id != first.remote_id
    assert sorted(p["caption"] for p in sandbox_posts(sandbox)) == sorted(
        post_text(caption, item, channel) for item in ("item-43a", "item-43b"))


# -- realistic timing and limits of a running sandbox (benchmarks, the quota e2e test) ------------------------
def test_a_container_stays_in_progress_for_its_processing_time(image) -> None:
    server = _start(SandboxConfig(token=TOKEN, in_progress_polls=0, processing=(2.0, 2.0)))
    try:
        graph, auth = f"{server.base_url}/v21.0", {"access_token": TOKEN}
        url = image("a.jpg", picture(1080, 1080)).url
        container = requests.post(f"{graph}/{INSTAGRAM_USER_ID}/media", data={"image_url": url, **auth},
                                  timeout=10).json()["id"]
        status = requests.get(f"{graph}/{container}", params={"fields": "status_code", **auth}, timeout=5).json()
        early = requests.post(f"{graph}/{INSTAGRAM_USER_ID}/media_publish", data={"creation_id": container, **auth},
                              timeout=5)
        assert status["status_code"] == "IN_PROGRESS" and early.json()["error"]["code"] == 9007
        time.sleep(2.1)
        status = requests.get(f"{graph}/{container}", params={"fields": "status_code", **auth}, timeout=5).json()
        assert status["status_code"] == "FINISHED"
    finally:
        server.shutdown()
        server.server_close()


def test_the_limits_of_a_running_sandbox_can_be_changed(sandbox) -> None:
    limits = f"{sandbox.base_url}/_sandbox/limits"
    before = requests.get(limits, timeout=5).json()
    try:
        changed = requests.post(limits, json={"instagram_quota_total": 3}, timeout=5).json()
        assert changed == {**before, "instagram_quota_total": 3}
        assert requests.post(limits, json={"instagram_quota_total": 0}, timeout=5).status_code == 400
        assert requests.post(limits, json={"token": "x"}, timeout=5).status_code == 400
    finally:
        requests.post(limits, json=before, timeout=5).raise_for_status()
