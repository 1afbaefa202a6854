"""Publishing video (issue 18) against the platform sandbox over HTTP: Instagram Reels, video stories and mixed
carousels (deferred while the container is processed), Facebook's resumable upload, X's chunked upload, and the
exactly-once promise across a crash in the middle of an upload. The sandbox probes every video it receives and
holds it to the platforms' own limits, so an out-of-spec rendition fails here with the platform's error.

Clips are made here with PyAV: a few seconds at 160x284, tens of kilobytes.
"""
from __future__ import annotations

import io
import time
from dataclasses import replace
from datetime import datetime, timezone
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import requests
from PIL import Image

from humas.exceptions import PlatformError, PublishUncertainError, StillProcessing
from humas.platforms import (
    ClientConfig, MediaRef, PlatformClient, PostRequest, Progress, PublishedPost, make_client,
)
from approved_items import approved_upload
from humas.publish import publish_once, read_record
from humas.steps.base import ItemStep, SendBack, WaitUntil
from humas.steps.upload import publish_item
from humas.store import Store
from humas.verify import verify_post
from humas_dev.sandbox import (
    FACEBOOK_PAGE_ID, INSTAGRAM_USER_ID, X_USER_ID, SandboxConfig, SandboxHTTPServer,
)
from sandbox_server import running_sandbox

pytestmark = pytest.mark.integration

TOKEN = "sandbox-video-token"
ACCOUNTS = {"instagram": INSTAGRAM_USER_ID, "facebook": FACEBOOK_PAGE_ID, "x": X_USER_ID}
PROCESSING = 0.4          # seconds the sandbox processes a video
FB_CHUNK = 8192           # bytes per Facebook transfer chunk (the platform picks it)
X_SEGMENT = 8192          # bytes per X APPEND segment (the client picks it)


# -- clips ------------------------------------------------------------------------------------------------
def make_clip(path: Path, *, seconds: float = 3.2, width: int = 160, height: int = 284, fps: int = 24,
              faststart: bool = True) -> Path:
    """An H.264 High + AAC-LC MP4 made with PyAV: a gradient with a moving square and a quiet tone (~30 KB)."""
    options = {"movflags": "+faststart"} if faststart else {}
    rng = np.random.default_rng(7)
    ramp = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None].repeat(height, 0).repeat(3, 2)
    with av.open(str(path), "w", options=options) as box:
        video = box.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "veryfast", "profile": "high", "crf": "30"}
        audio = box.add_stream("aac", rate=44100)
        for n in range(int(seconds * fps)):
            frame = ramp.copy()
            top, left = (4 * n) % (height - 24), (3 * n) % (width - 24)
            frame[top:top + 16, left:left + 16] = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
            box.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        box.mux(video.encode())
        for n in range(int(seconds * 44100 / 1024) + 1):
            tone = (0.1 * np.sin(np.arange(n * 1024, (n + 1) * 1024) / 20)).astype(np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 44100, n * 1024, Fraction(1, 44100)
            box.mux(audio.encode(frame))
        box.mux(audio.encode())
    return path


def make_gif(path: Path, frames: int = 6) -> Path:
    pictures = [Image.new("RGB", (120, 80), (30 * n, 90, 160)) for n in range(frames)]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=100, loop=0)
    return path


# -- servers, media, clients -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHTTPServer]:
    with running_sandbox(SandboxConfig(token=TOKEN, video_processing=PROCESSING, fb_chunk_bytes=FB_CHUNK)) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(sandbox: SandboxHTTPServer) -> None:
    requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=5).raise_for_status()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {"good": make_clip(folder / "good.mp4"), "square": make_clip(folder / "square.mp4", width=160, height=160),
            "short": make_clip(folder / "short.mp4", seconds=2.0),
            "moov_last": make_clip(folder / "moov_last.mp4", faststart=False),
            "wide": make_clip(folder / "wide.mp4", width=400, height=96),
            "reel": make_clip(folder / "reel.mp4", width=540, height=960), "gif": make_gif(folder / "anim.gif")}


@pytest.fixture()
def media(store: Store) -> Callable[..., MediaRef]:
    """A file in the bucket described as the uploader does: presigned URL for URL-taking APIs, path to stream."""
    def make(path: Path, kind: str = "video") -> MediaRef:
        key = f"pipeline/test/renditions/{path.name}"
        content_type = {"video": "video/mp4", "gif": "image/gif", "image": "image/jpeg"}[kind]
        store.client.put_object(Bucket=store.bucket, Key=key, Body=path.read_bytes(), ContentType=content_type)
        url = store.client.generate_presigned_url("get_object", Params={"Bucket": store.bucket, "Key": key},
                                                  ExpiresIn=600)
        data = path.read_bytes() if kind == "image" else b""
        return MediaRef(path.name, url, data, content_type, path=str(path), kind=kind, duration=None)
    return make


@pytest.fixture()
def photo(tmp_path: Path, media: Callable[..., MediaRef]) -> MediaRef:
    out = io.BytesIO()
    Image.new("RGB", (1080, 1080), (20, 110, 170)).save(out, "JPEG")
    path = tmp_path / "photo.jpg"
    path.write_bytes(out.getvalue())
    return media(path, "image")


class Crash(BaseException):
    """The worker dies (not an Exception: nothing in the pipeline may catch it)."""


class CrashingSession(requests.Session):
    """Dies before sending the `after`+1-th request whose URL and form match, as a killed worker would."""

    def __init__(self, path_part: str, after: int, form: dict[str, str] | None = None) -> None:
        super().__init__()
        self.path_part, self.after, self.form = path_part, after, form or {}

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        data = kwargs.get("data") or {}
        if self.path_part in url and all(data.get(k) == v for k, v in self.form.items()):
            if self.after == 0:
                raise Crash(url)
            self.after -= 1
        return super().request(method, url, *args, **kwargs)


@pytest.fixture()
def client(sandbox: SandboxHTTPServer) -> Callable[..., PlatformClient]:
    def make(channel: str, session: requests.Session | None = None) -> PlatformClient:
        made = make_client(channel, ClientConfig(sandbox.base_url, TOKEN, ACCOUNTS[channel], timeout=10), session)
        if channel == "x":
            made.chunk_bytes = X_SEGMENT  # type: ignore[attr-defined]
        return made
    return make


def posts(sandbox: SandboxHTTPServer, channel: str) -> list[dict[str, Any]]:
    return [p for p in requests.get(f"{sandbox.base_url}/_sandbox/posts", timeout=5).json() if p["channel"] == channel]


def uploads(sandbox: SandboxHTTPServer, channel: str) -> list[dict[str, Any]]:
    return [u for u in requests.get(f"{sandbox.base_url}/_sandbox/uploads", timeout=5).json()
            if u["channel"] == channel]


def arm(sandbox: SandboxHTTPServer, channel: str, operation: str, mode: str, **extra: object) -> None:
    body = {"channel": channel, "operation": operation, "mode": mode, **extra}
    requests.post(f"{sandbox.base_url}/_sandbox/faults", json=body, timeout=5).raise_for_status()


def until_published(store: Store, client: PlatformClient, post: PostRequest, tries: int = 6) -> tuple[PublishedPost, int]:
    """Call publish_once as the upload step does after each deferral; the post and how many deferrals it took."""
    for deferrals in range(tries):
        try:
            return publish_once(store, client, post), deferrals
        except StillProcessing as exc:
            record = read_record(store, post.item_id, client.channel)
            assert record["state"] == "attempting" and record["check_at"] == exc.check_at.isoformat()
            time.sleep(PROCESSING)
    raise AssertionError(f"{post.item_id} still processing after {tries} tries")


# -- Instagram ------------------------------------------------------------------------------------------
def test_reel_is_deferred_until_finished_then_published_once(store: Store, sandbox: SandboxHTTPServer,
                                                             client: Callable[..., PlatformClient],
                                                             clips: dict[str, Path],
                                                             media: Callable[..., MediaRef],
                                                             photo: MediaRef) -> None:
    reel = replace(media(clips["good"]), cover_url=photo.url)
    post = PostRequest("item-reel", "Festival budaya, Sabtu ini.", (reel,), "reels")
    instagram = client("instagram")
    with pytest.raises(StillProcessing) as deferred:
        publish_once(store, instagram, post)
    record = read_record(store, "item-reel", "instagram")
    container = record["progress"]["container"]["id"]
    assert record["state"] == "attempting" and deferred.value.channel == "instagram"
    wait = (deferred.value.check_at - datetime.now(timezone.utc)).total_seconds()
    assert 25 < wait <= 30          # ClientConfig.check_after: no worker waits; the upload step comes back then
    assert posts(sandbox, "instagram") == []

    time.sleep(PROCESSING)
    published, _ = until_published(store, instagram, post)
    assert published.permalink.startswith("https://www.instagram.com/reel/")
    record = read_record(store, "item-reel", "instagram")
    assert record["progress"]["container"]["id"] == container and record["attempts"] == 1   # resumed, one attempt
    [reel] = posts(sandbox, "instagram")
    assert reel["placement"] == "reels" and reel["images"][0]["video_codec"] == "h264"
    assert reel["images"][0]["duration"] == pytest.approx(3.2, abs=0.2)
    assert publish_once(store, client("instagram"), post) == published and len(posts(sandbox, "instagram")) == 1


def test_reel_published_then_500_is_found_not_posted_again(store: Store, sandbox: SandboxHTTPServer,
                                                           client: Callable[..., PlatformClient],
                                                           clips: dict[str, Path],
                                                           media: Callable[..., MediaRef]) -> None:
    post = PostRequest("item-reel-500", "Lomba perahu naga.", (media(clips["good"]),), "reels")
    arm(sandbox, "instagram", "media_publish", "error_500_after_commit")
    published, _ = until_published(store, client("instagram"), post)   # the 500 is PublishUncertain: looked for
    assert [p["id"] for p in posts(sandbox, "instagram")] == [published.remote_id]
    assert read_record(store, "item-reel-500", "instagram")["confirmed_by"] == "found on platform after a timeout"


def test_video_story(store: Store, sandbox: SandboxHTTPServer, client: Callable[..., PlatformClient],
                     clips: dict[str, Path], media: Callable[..., MediaRef]) -> None:
    post = PostRequest("item-story", "", (media(clips["good"]),), "story")
    published, deferrals = until_published(store, client("instagram"), post)
    assert deferrals >= 1 and "/stories/" in published.permalink
    [story] = posts(sandbox, "instagram")
    assert story["placement"] == "story" and story["images"][0]["duration"] is not None


def test_video_story_published_then_500_is_found_by_its_first_frame(
        store: Store, sandbox: SandboxHTTPServer, client: Callable[..., PlatformClient], clips: dict[str, Path],
        media: Callable[..., MediaRef]) -> None:
    post = PostRequest("item-story-500", "", (media(clips["good"]),), "story")
    arm(sandbox, "instagram", "media_publish", "error_500_after_commit")
    published, _ = until_published(store, client("instagram"), post)
    [story] = posts(sandbox, "instagram")
    assert story["id"] == published.remote_id
    assert read_record(store, "item-story-500", "instagram")["confirmed_by"] == "found on platform after a timeout"


def test_carousel_mixing_images_and_video(store: Store, sandbox: SandboxHTTPServer,
                                          client: Callable[..., PlatformClient], clips: dict[str, Path],
                                          media: Callable[..., MediaRef], photo: MediaRef) -> None:
    post = PostRequest("item-mix", "Dua foto dan satu video.", (photo, media(clips["square"]), photo), "feed")
    published, deferrals = until_published(store, client("instagram"), post)
    assert deferrals >= 1
    [carousel] = posts(sandbox, "instagram")
    assert [m.get("duration") is not None for m in carousel["images"]] == [False, True, False]
    assert carousel["id"] == published.remote_id


# -- Facebook ----------------------------------------------------------------------------------------------
def fb_video_post(clips: dict[str, Path], media: Callable[..., MediaRef], item_id: str) -> PostRequest:
    return PostRequest(item_id, "Rekaman rapat paripurna.", (media(clips["good"]),), "video")


def test_facebook_upload_crash_after_k_chunks_resumes_without_a_duplicate(
        store: Store, sandbox: SandboxHTTPServer, client: Callable[..., PlatformClient], clips: dict[str, Path],
        media: Callable[..., MediaRef]) -> None:
    post = fb_video_post(clips, media, "item-fb-crash")
    size = clips["good"].stat().st_size
    assert size > 4 * FB_CHUNK
    with pytest.raises(Crash):
        publish_once(store, client("facebook", CrashingSession("/videos", 3, {"upload_phase": "transfer"})), post)
    record = read_record(store, "item-fb-crash", "facebook")
    assert record["state"] == "attempting" and record["progress"]["video"]["offset"] == 3 * FB_CHUNK

    published, _ = until_published(store, client("facebook"), post)
    [session] = uploads(sandbox, "facebook")
    assert session["finished"] and session["received"] == size      # resumed at the platform's offset
    assert published.permalink == f"https://www.facebook.com/{FACEBOOK_PAGE_ID}/videos/{session['video_id']}/"
    assert len(posts(sandbox, "facebook")) == 1

    store.client.delete_object(Bucket=store.bucket, Key=f"pipeline/item-fb-crash/publish/facebook.json")
    assert publish_once(store, client("facebook"), post).permalink == published.permalink   # found, not re-sent
    assert len(posts(sandbox, "facebook")) == 1 and len(uploads(sandbox, "facebook")) == 1


def test_facebook_chunk_committed_then_500_resumes_at_the_platform_offset(
        store: Store, sandbox: SandboxHTTPServer, client: Callable[..., PlatformClient], clips: dict[str, Path],
        media: Callable[..., MediaRef]) -> None:
    post = fb_video_post(clips, media, "item-fb-500")
    arm(sandbox, "facebook", "videos", "error_500_after_commit", after=3)   # start + 2 transfers, then the 3rd
    with pytest.raises(PlatformError) as failed:
        publish_once(store, client("facebook"), post)
    assert failed.value.retryable
    assert read_record(store, "item-fb-500", "facebook")["progress"]["video"]["offset"] == 2 * FB_CHUNK

    until_published(store, client("facebook"), post)
    [session] = uploads(sandbox, "facebook")
    assert session["received"] == clips["good"].stat().st_size       # the committed chunk was not sent again
    assert len(posts(sandbox, "facebook")) == 1


def test_facebook_finish_committed_then_500_is_found_not_posted_again(
        store: Store, sandbox: SandboxHTTPServer, client: Callable[..., PlatformClient], clips: dict[str, Path],
        media: Callable[..., MediaRef]) -> None:
    post = fb_video_post(clips, media, "item-fb-finish")
    chunks = -(-clips["good"].stat().st_size // FB_CHUNK)
    arm(sandbox, "facebook", "videos", "error_500_after_commit", after=1 + chunks)   # the finish
    with pytest.raises(PublishUncertainError):
        publish_once(store, client("facebook"), post)
    until_published(store, client("facebook"), post)
    assert len(posts(sandbox, "facebook")) == 1 and len(uploads(sandbox, "facebook")) == 1


def test_facebook_expired_session_starts_a_new_one(store: Store, sandbox: SandboxHTTPServer,
                                                   client: Callable[..., PlatformClient], clips: dict[str, Path],
                                                   media: Callable[..., MediaRef]) -> None:
    post = fb_video_post(clips, media, "item-fb-expired")
    with pytest.raises(Crash):
        publish_once(store, client("facebook", CrashingSession("/videos", 2, {"upload_phase": "transfer"})), post)
    requests.post(f"{sandbox.base_url}/_sandbox/uploads/expire", timeout=5).raise_for_status()
    published, _ = until_published(store, client("facebook"), post)
    old, new = uploads(sandbox, "facebook")
    assert old["expired"] and not old["finished"] and new["finished"]
    assert new["video_id"] in published.permalink and len(posts(sandbox, "facebook")) == 1


def test_facebook_reel_upload_committed_then_500_is_finished_without_sending_again(
        store: Store, sandbox: SandboxHTTPServer, client: Callable[..., PlatformClient], clips: dict[str, Path],
        media: Callable[..., MediaRef]) -> None:
    post = PostRequest("item-fb-reel", "Reel HUT kota.", (media(clips["reel"]),), "reels")
    arm(sandbox, "facebook", "reel_upload", "error_500_after_commit")
    with pytest.raises(PlatformError) as failed:
        publish_once(store, client("facebook"), post)
    assert failed.value.retryable
    published, deferrals = until_published(store, client("facebook"), post)
    [reel] = uploads(sandbox, "facebook")
    assert deferrals >= 1 and reel["received"] == clips["reel"].stat().st_size   # the platform had it all
    assert published.permalink == f"https://www.facebook.com/reel/{reel['video_id']}/"
    [posted] = posts(sandbox, "facebook")
    assert posted["placement"] == "reels" and posted["images"][0]["width"] == 540


# -- X -------------------------------------------------------------------------------------------------------
def test_x_chunked_upload_crash_between_append_and_finalize(store: Store, sandbox: SandboxHTTPServer,
                                                            client: Callable[..., PlatformClient],
                                                            clips: dict[str, Path],
                                                            media: Callable[..., MediaRef]) -> None:
    post = PostRequest("item-x-crash", "Video banjir pagi ini.", (media(clips["good"]),), "post_video")
    with pytest.raises(Crash):
        publish_once(store, client("x", CrashingSession("/finalize", 0)), post)
    size = clips["good"].stat().st_size
    entry = read_record(store, "item-x-crash", "x")["progress"]["media-0"]
    assert entry["segments"] == -(-size // X_SEGMENT) and not entry.get("finalized")

    published, deferrals = until_published(store, client("x"), post)
    [upload] = uploads(sandbox, "x")
    assert upload["id"] == entry["id"] and upload["received"] == size   # no segment sent twice
    [tweet] = posts(sandbox, "x")
    assert tweet["id"] == published.remote_id and tweet["images"][0]["video_codec"] == "h264"


def test_x_expired_media_id_is_uploaded_again(store: Store, sandbox: SandboxHTTPServer,
                                              client: Callable[..., PlatformClient], clips: dict[str, Path],
                                              media: Callable[..., MediaRef]) -> None:
    post = PostRequest("item-x-expired", "Video pasar murah.", (media(clips["good"]),), "post_video")
    with pytest.raises(Crash):
        publish_once(store, client("x", CrashingSession("/append", 2)), post)
    requests.post(f"{sandbox.base_url}/_sandbox/uploads/expire", timeout=5).raise_for_status()
    published, _ = until_published(store, client("x"), post)
    old, new = uploads(sandbox, "x")
    assert old["expired"] and not old["finished"] and new["finished"]
    assert read_record(store, "item-x-expired", "x")["progress"]["media-0"]["id"] == new["id"]
    assert [p["id"] for p in posts(sandbox, "x")] == [published.remote_id]


def test_x_segment_committed_then_500_is_sent_again_harmlessly(store: Store, sandbox: SandboxHTTPServer,
                                                               client: Callable[..., PlatformClient],
                                                               clips: dict[str, Path],
                                                               media: Callable[..., MediaRef]) -> None:
    post = PostRequest("item-x-500", "Video banjir siang ini.", (media(clips["good"]),), "post_video")
    arm(sandbox, "x", "media_append", "error_500_after_commit", after=1)
    with pytest.raises(PlatformError) as failed:
        publish_once(store, client("x"), post)
    assert failed.value.retryable
    until_published(store, client("x"), post)
    [upload] = uploads(sandbox, "x")
    assert upload["received"] == clips["good"].stat().st_size + X_SEGMENT   # segment 1 again, replacing itself
    assert len(posts(sandbox, "x")) == 1


def test_x_animated_gif_is_posted_as_gif(store: Store, sandbox: SandboxHTTPServer,
                                         client: Callable[..., PlatformClient], clips: dict[str, Path],
                                         media: Callable[..., MediaRef]) -> None:
    post = PostRequest("item-x-gif", "Animasi jadwal vaksin.", (media(clips["gif"], "gif"),))
    until_published(store, client("x"), post)
    [tweet] = posts(sandbox, "x")
    assert tweet["images"][0]["format"] == "GIF"


# -- out of spec: refused by the platform, with its own error, and nothing posted -----------------------------
@pytest.mark.parametrize(("channel", "clip", "placement", "words"), [
    ("instagram", "short", "reels", ["2207026", "duration 2.0"]),
    ("instagram", "moov_last", "reels", ["moov atom is not at the front"]),
    ("x", "wide", "post_video", ["Invalid media", "aspect ratio 4.167"]),
    ("facebook", "wide", "video", ["could not process", "aspect ratio 4.167"]),
    ("facebook", "good", "reels", ["could not process", "resolution 160x284"]),
])
def test_out_of_spec_video_is_refused_with_the_platforms_reason(
        store: Store, sandbox: SandboxHTTPServer, client: Callable[..., PlatformClient], clips: dict[str, Path],
        media: Callable[..., MediaRef], channel: str, clip: str, placement: str, words: list[str]) -> None:
    post = PostRequest(f"item-bad-{channel}-{clip}", "Video yang tidak memenuhi syarat.", (media(clips[clip]),),
                       placement)
    with pytest.raises(PlatformError) as refused:
        until_published(store, client(channel), post)
    assert not refused.value.retryable
    for word in words:
        assert word in str(refused.value)
    assert "publish again" in str(refused.value)
    assert read_record(store, post.item_id, channel)["state"] == "failed"
    assert posts(sandbox, channel) == []


# -- what the post shows: its first frame, read back as each platform serves a video's picture ------------------
@pytest.mark.parametrize(("channel", "clip", "placement", "kind"), [
    ("instagram", "reel", "reels", "video"), ("instagram", "good", "story", "video"),
    ("facebook", "good", "video", "video"), ("x", "good", "post_video", "video"), ("x", "gif", None, "gif"),
])
def test_a_published_video_shows_its_first_frame(store: Store, sandbox: SandboxHTTPServer,
                                                 client: Callable[..., PlatformClient], clips: dict[str, Path],
                                                 media: Callable[..., MediaRef], channel: str, clip: str,
                                                 placement: str | None, kind: str) -> None:
    post = PostRequest(f"item-shown-{channel}-{clip}", "" if placement == "story" else "Video kegiatan.",
                       (media(clips[clip], kind),), placement)
    platform = client(channel)
    published, _ = until_published(store, platform, post)
    progress = Progress(read_record(store, post.item_id, channel).get("progress") or {})

    check = verify_post(platform, post, published, progress)
    assert check["result"] == "match", check
    assert check["media"][0]["distance"] <= 6 and not check["media"][0]["same_bytes"]   # a frame, not the file


def test_a_carousel_video_item_is_read_back_by_its_thumbnail(store: Store, sandbox: SandboxHTTPServer,
                                                             client: Callable[..., PlatformClient],
                                                             clips: dict[str, Path], media: Callable[..., MediaRef],
                                                             photo: MediaRef) -> None:
    post = PostRequest("item-shown-mix", "Foto dan video.", (photo, media(clips["square"])), "feed")
    instagram = client("instagram")
    published, _ = until_published(store, instagram, post)
    check = verify_post(instagram, post, published, Progress())
    assert check["result"] == "match" and [row["result"] for row in check["media"]] == ["match", "match"]


# -- the upload step across deferrals: the approved video is read from the bucket only when its bytes are needed ---
APPROVAL_KEY = "k" * 48


@pytest.fixture(scope="module")
def slow_sandbox() -> Iterator[SandboxHTTPServer]:
    """A sandbox whose Instagram containers stay IN_PROGRESS for their first 4 looks (a try looks at most twice):
    an upload defers at least twice, however slow the machine."""
    with running_sandbox(SandboxConfig(token=TOKEN, video_processing=0, in_progress_polls=4)) as server:
        yield server


@pytest.fixture()
def slow_instagram(slow_sandbox: SandboxHTTPServer) -> Callable[[str], PlatformClient]:
    requests.post(f"{slow_sandbox.base_url}/_sandbox/reset", timeout=5).raise_for_status()
    return lambda channel: make_client(channel, ClientConfig(slow_sandbox.base_url, TOKEN, ACCOUNTS[channel],
                                                             timeout=10))


@pytest.fixture()
def video_upload(store: Store, sops: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> Callable[[bool], Callable[[], ItemStep]]:
    """An approved video item for Instagram (a Reel), in a versioned bucket or not; its upload step."""
    monkeypatch.setenv("HUMAS_APPROVAL_KEY", APPROVAL_KEY)

    def make(versioned: bool) -> Callable[[], ItemStep]:
        if versioned:
            store.client.put_bucket_versioning(Bucket=store.bucket, VersioningConfiguration={"Status": "Enabled"})
        clip = make_clip(tmp_path / "klip.mp4", width=540, height=960)
        return approved_upload(store, sops, "item-deferred", 1, APPROVAL_KEY, clip.read_bytes(), ["instagram"],
                               name="klip.mp4")
    return make


def reads_of(store: Store, monkeypatch: pytest.MonkeyPatch, key: str) -> list[str]:
    """Every GET of `key` through the store's S3 client from now on (HEADs are not reads)."""
    reads: list[str] = []
    get_object = store.client.get_object

    def counting(**kwargs: Any) -> Any:
        if kwargs.get("Key") == key:
            reads.append(kwargs.get("VersionId") or "current")
        return get_object(**kwargs)
    monkeypatch.setattr(store.client, "get_object", counting)
    return reads


def upload_until_done(step: Callable[[], ItemStep], client: Callable[[str], PlatformClient]) -> tuple[Any, int]:
    """Run the upload step again after each deferral (at once: the sandbox counts looks, not time); its outcome
    and how many tries it took."""
    for tries in range(1, 10):
        outcome = publish_item(step(), client)
        if not isinstance(outcome, WaitUntil):
            return outcome, tries
    raise AssertionError("the upload was still deferred after 10 tries")


def test_deferred_tries_do_not_read_the_approved_video_again(
        store: Store, slow_sandbox: SandboxHTTPServer, slow_instagram: Callable[[str], PlatformClient],
        video_upload: Callable[[bool], Callable[[], ItemStep]], monkeypatch: pytest.MonkeyPatch) -> None:
    step = video_upload(True)
    [reel] = step().design_manifest()["renditions"]
    reads = reads_of(store, monkeypatch, reel["key"])

    receipt, tries = upload_until_done(step, slow_instagram)

    assert receipt["complete"] and tries >= 3
    # read whole on the first try; then only when the last try compares the post with it (pinned to that version)
    assert len(reads) == 2 and reads[0] == "current" and reads[1] == store.version(reel["key"])
    [posted] = posts(slow_sandbox, "instagram")
    assert posted["images"][0]["sha256"] == reel["sha256"]                    # exactly the approved bytes
    mark = read_record(store, "item-deferred", "instagram")["verified_media"][reel["key"]]
    assert mark == {"version": store.version(reel["key"]), "sha256": reel["sha256"]}


def test_a_video_changed_while_the_platform_processes_sends_the_run_back(
        store: Store, slow_instagram: Callable[[str], PlatformClient],
        video_upload: Callable[[bool], Callable[[], ItemStep]]) -> None:
    step = video_upload(True)
    [reel] = step().design_manifest()["renditions"]
    assert isinstance(publish_item(step(), slow_instagram), WaitUntil)
    store.put_bytes(reel["key"], b"not the approved video", "video/mp4")   # a new version under the same key

    outcome = publish_item(step(), slow_instagram)

    assert isinstance(outcome, SendBack) and reel["key"] in outcome.message


@pytest.mark.parametrize(("channel", "placement"), [("x", "post_video"), ("facebook", "video"),
                                                  ("facebook", "reels"), ("instagram", "reels")])
def test_a_try_after_the_upload_was_sent_needs_no_file(store: Store, sandbox: SandboxHTTPServer,
                                                       client: Callable[..., PlatformClient], clips: dict[str, Path],
                                                       media: Callable[..., MediaRef], tmp_path: Path, channel: str,
                                                       placement: str) -> None:
    """What the uploader relies on to leave a checked video in the bucket: once the platform has the bytes, the
    client only looks at its processing and posts, never asking for the file."""
    sent = media(clips["reel"])
    post = PostRequest(f"item-sent-{channel}-{placement}", "Video kegiatan.", (sent,), placement)
    with pytest.raises(StillProcessing):
        publish_once(store, client(channel), post)
    fetched: list[str] = []
    absent = replace(sent, path=str(tmp_path / "not-downloaded.mp4"), fetch=lambda: fetched.append(sent.name))

    until_published(store, client(channel), replace(post, images=(absent,)))

    assert fetched == [] and len(posts(sandbox, channel)) == 1


def test_an_unversioned_bucket_reads_the_video_on_every_try(
        store: Store, slow_instagram: Callable[[str], PlatformClient],
        video_upload: Callable[[bool], Callable[[], ItemStep]], monkeypatch: pytest.MonkeyPatch) -> None:
    step = video_upload(False)
    [reel] = step().design_manifest()["renditions"]
    reads = reads_of(store, monkeypatch, reel["key"])

    receipt, tries = upload_until_done(step, slow_instagram)

    assert receipt["complete"] and tries >= 3 and len(reads) >= tries   # the same name may hold other bytes next time
    assert "verified_media" not in read_record(store, "item-deferred", "instagram")
