"""The sandbox's memory: posts, Instagram containers, pending uploads and injected faults.

All of it sits behind one lock. When a state file is configured, every change is appended to it as one
JSON line, and each image's bytes are written once, named by their digest, in a folder beside it, so a
restarted sandbox still knows what was published and a change costs the same at the thousandth post as at
the first (rewriting the whole state took 0.9 s per change at 600 posts).
"""
from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from humas_dev.sandbox import images
from humas_dev.sandbox.images import ImageInfo

log = logging.getLogger(__name__)

# `error_500`, `rate_limit` and `http_429` refuse the request; the `_after_commit` modes carry it out (the post
# exists) and then answer with an error, or (timeout) not at all. `rate_limit` answers in the platform's own way
# (Graph: code 4/32 with a time to regain access in X-Business-Use-Case-Usage; X: 429 with x-rate-limit-reset),
# `http_429` with a plain 429 and Retry-After; both say the limit frees after `retry_after` seconds.
# `swap_media` carries the request out and answers normally, but the post shows other pictures than it was sent
# (each image inverted): what a swapped file fetched by the platform would look like afterwards. Arm it on the
# request that makes the post (Instagram media_publish, Facebook photos or feed, X tweets).
FAULT_MODES = ("timeout_after_commit", "error_500", "rate_limit", "http_429", "error_500_after_commit",
               "rate_limit_after_commit", "http_429_after_commit", "swap_media")
FAULT_OPERATIONS = {
    "instagram": ("media", "media_publish"),
    "facebook": ("photos", "feed", "videos", "video_reels", "reel_upload"),
    "x": ("media_upload", "media_initialize", "media_append", "media_finalize", "tweets"),
}


@dataclass
class StoredImage:
    info: ImageInfo
    data: bytes


@dataclass
class Post:
    """One published post, on any platform."""

    channel: str
    account_id: str
    id: str
    caption: str
    permalink: str
    created_at: float
    images: list[StoredImage]
    placement: str = ""       # the channel's placement when it has several (Instagram: feed or story)
    visible_at: float = 0.0   # a Facebook video post is listed once the video is processed


@dataclass
class Container:
    """An Instagram media container (IMAGE, CAROUSEL_ITEM, CAROUSEL or STORIES)."""

    id: str
    account_id: str
    kind: str
    caption: str
    images: list[StoredImage]
    children: list[str] = field(default_factory=list)
    polls: int = 0
    media_id: str | None = None
    ready_at: float = 0.0     # with realistic processing times: IN_PROGRESS until this moment
    error: str = ""           # a video that failed processing: status_code ERROR with this status text


@dataclass
class Pending:
    """An upload waiting to be attached: an unpublished Facebook photo or an X media id."""

    id: str
    channel: str
    account_id: str
    image: StoredImage
    created_at: float


@dataclass
class MediaUpload:
    """A chunked upload: a Facebook resumable video session or an X media id (INIT/APPEND/FINALIZE).

    Kept in memory only (not in the journal): a restarted sandbox has forgotten its sessions, as an expired
    session is forgotten by the platforms, and the client starts a new one.
    """

    id: str                   # Facebook: upload_session_id; X: media id
    channel: str
    account_id: str
    total_bytes: int
    created_at: float
    video_id: str = ""        # Facebook: the video the session makes
    category: str = ""        # X: media_category
    media_type: str = ""      # X: the MIME type declared at INIT
    data: bytearray = field(default_factory=bytearray)   # Facebook: the bytes confirmed so far, in order
    segments: dict[int, bytes] = field(default_factory=dict)   # X: APPENDed segments by index
    received: int = 0         # every byte sent to it, resent ones included (tests: nothing sent twice)
    expired: bool = False
    finished: bool = False    # Facebook: finish; X: FINALIZE
    ready_at: float = 0.0     # processing done at this moment
    error: str = ""           # processing failed: why, in the platform's words
    message: str = ""         # Facebook: the video post's description
    post_id: str = ""
    facts: Any = None         # what the probe read at finish/FINALIZE (humas_dev.sandbox.videos.VideoFacts)


@dataclass
class Fault:
    """A failure to inject into the next `count` requests of one channel's operation."""

    channel: str
    operation: str
    mode: str
    count: int = 1
    delay_seconds: float = 0.0
    after: int = 0            # let this many of the operation's requests through first
    retry_after: int = 900    # rate limits: seconds until the limit frees, as the answer reports it


def check_fault(raw: dict[str, Any]) -> Fault:
    """A Fault from the admin request body; ValueError naming the bad field otherwise."""
    channel, operation, mode = raw.get("channel"), raw.get("operation"), raw.get("mode")
    if channel not in FAULT_OPERATIONS:
        raise ValueError(f"channel must be one of {sorted(FAULT_OPERATIONS)}, got {channel!r}")
    if operation not in FAULT_OPERATIONS[channel]:
        raise ValueError(f"operation for {channel} must be one of {FAULT_OPERATIONS[channel]}, got {operation!r}")
    if mode not in FAULT_MODES:
        raise ValueError(f"mode must be one of {FAULT_MODES}, got {mode!r}")
    count, delay, after = int(raw.get("count", 1)), float(raw.get("delay_seconds", 0)), int(raw.get("after", 0))
    retry_after = int(raw.get("retry_after", 900))
    if count < 1 or delay < 0 or after < 0 or retry_after < 1:
        raise ValueError("count must be >= 1, delay_seconds >= 0, after >= 0 and retry_after >= 1")
    return Fault(channel, operation, mode, count, delay, after, retry_after)


def swapped(image: StoredImage) -> StoredImage:
    """The image inverted, in its own format (a video or unreadable bytes: unchanged)."""
    if image.info.duration is not None:
        return image
    data = images.inverted(image.data, image.info.format)
    info = images.inspect(data)
    return StoredImage(info, data) if info else image


class State:
    """Thread-safe in-memory state, optionally kept in a journal file (one JSON change per line)."""

    def __init__(self, state_file: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.state_file = state_file
        self.images_dir = state_file.with_name(state_file.name + ".images") if state_file else None
        self.posts: list[Post] = []
        self.containers: dict[str, Container] = {}
        self.pending: dict[str, Pending] = {}
        self.uploads: dict[str, MediaUpload] = {}   # chunked uploads by id (in memory only)
        self.faults: list[Fault] = []
        self._seq = int(time.time() * 1000)
        self._images_saved: set[str] = set()
        self._journal: Any = None
        if state_file:
            if state_file.exists():
                self._replay(state_file)
            self._compact()

    @contextmanager
    def transaction(self) -> Iterator[State]:
        """Hold the lock for a check-and-change; the changes go through the methods below."""
        with self.lock:
            yield self

    def next_seq(self) -> int:
        """A number never handed out before by this sandbox (ids are built from it)."""
        with self.lock:
            self._seq += 1
            return self._seq

    def add_post(self, post: Post) -> None:
        with self.lock:
            self.posts.append(post)
            self._record("post", post)

    def put_container(self, container: Container) -> None:
        """A new container, or a container's new status (polled, published)."""
        with self.lock:
            self.containers[container.id] = container
            self._record("container", container)

    def put_pending(self, pending: Pending) -> None:
        with self.lock:
            self.pending[pending.id] = pending
            self._record("pending", pending)

    def drop_pending(self, pending_id: str) -> None:
        with self.lock:
            if self.pending.pop(pending_id, None) is not None:
                self._record("drop_pending", pending_id)

    def reset(self) -> None:
        with self.lock:
            self.posts.clear()
            self.containers.clear()
            self.pending.clear()
            self.uploads.clear()
            self.faults.clear()
            if self.images_dir:
                shutil.rmtree(self.images_dir, ignore_errors=True)
                self._images_saved.clear()
                self._compact()

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, channel: str, operation: str) -> Fault | None:
        """The first fault armed for this operation, counting one use of it (or one request let through)."""
        with self.lock:
            for fault in self.faults:
                if fault.channel == channel and fault.operation == operation:
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def posts_of(self, channel: str, account_id: str) -> list[Post]:
        """An account's posts, newest first."""
        with self.lock:
            mine = [p for p in self.posts if p.channel == channel and p.account_id == account_id]
        return sorted(mine, key=lambda p: (p.created_at, p.id), reverse=True)

    def swap_newest(self, channel: str) -> None:
        """The `swap_media` fault: the channel's newest post now shows each of its images inverted (videos are
        left as they are). In memory only: the journal keeps what was really received."""
        with self.lock:
            mine = [p for p in self.posts if p.channel == channel]
            if mine:
                post = max(mine, key=lambda p: (p.created_at, p.id))
                post.images = [swapped(image) for image in post.images]

    def find_post(self, post_id: str, channel: str | None = None) -> Post | None:
        with self.lock:
            return next((p for p in self.posts if p.id == post_id and channel in (None, p.channel)), None)

    # -- persistence -------------------------------------------------------------------------------
    def _record(self, kind: str, value: Post | Container | Pending | str) -> None:
        """Append one change to the journal, if there is one (a record, or the id a drop names)."""
        if self._journal is None:
            return
        raw = value if isinstance(value, str) else self._dump(value)
        self._journal.write(json.dumps({"seq": self._seq, kind: raw}) + "\n")
        self._journal.flush()
        os.fsync(self._journal.fileno())   # a post the platform made must survive the sandbox's machine failing

    def _compact(self) -> None:
        """Rewrite the journal as the current state, one line per record, and keep appending to it."""
        assert self.state_file is not None and self.images_dir is not None
        if self._journal is not None:
            self._journal.close()
        lines = [{"post": self._dump(p)} for p in self.posts]
        lines += [{"container": self._dump(c)} for c in self.containers.values()]
        lines += [{"pending": self._dump(p)} for p in self.pending.values()]
        tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
        tmp.write_text("".join(json.dumps({"seq": self._seq, **line}) + "\n" for line in lines), encoding="utf-8")
        os.replace(tmp, self.state_file)
        self._journal = self.state_file.open("a", encoding="utf-8")

    def _replay(self, path: Path) -> None:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                change = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # the sandbox was killed while writing its last change
                    log.warning("%s: line %d is incomplete and was dropped", path, number)
                    continue
                raise ValueError(f"{path}: line {number} is not JSON; remove the file to start an empty "
                                 "sandbox") from None
            self._apply(change)

    def _apply(self, change: dict[str, Any]) -> None:
        self._seq = max(self._seq, int(change.get("seq", 0)))
        if "posts" in change:  # a whole-state file written before the journal
            for name, kind in (("posts", "post"), ("containers", "container"), ("pending", "pending")):
                for record in change.get(name, []):
                    self._apply({kind: record})
        elif "post" in change:
            self.posts.append(Post(**self._images_in(change["post"])))
        elif "container" in change:
            container = Container(**self._images_in(change["container"]))
            self.containers[container.id] = container
        elif "pending" in change:
            pending = Pending(**self._images_in(change["pending"]))
            self.pending[pending.id] = pending
        elif "drop_pending" in change:
            self.pending.pop(change["drop_pending"], None)

    def _dump(self, record: Post | Container | Pending) -> dict[str, Any]:
        """The record as JSON, each image by its info; the bytes go to the image folder, once."""
        raw = {name: value for name, value in vars(record).items() if name not in ("images", "image")}
        if isinstance(record, Pending):
            raw["image"] = self._save_image(record.image)
        else:
            raw["images"] = [self._save_image(image) for image in record.images]
        return raw

    def _save_image(self, image: StoredImage) -> dict[str, Any]:
        assert self.images_dir is not None  # records are dumped only into a journal
        digest = image.info.sha256
        if digest not in self._images_saved:
            path = self.images_dir / digest
            if not path.exists():
                self.images_dir.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(image.data)
                os.replace(tmp, path)
            self._images_saved.add(digest)
        return {"info": image.info.as_dict()}

    def _images_in(self, raw: dict[str, Any]) -> dict[str, Any]:
        raw = dict(raw)
        if "images" in raw:
            raw["images"] = [self._stored(i) for i in raw["images"]]
        if "image" in raw:
            raw["image"] = self._stored(raw["image"])
        return raw

    def _stored(self, raw: dict[str, Any]) -> StoredImage:
        info = ImageInfo(**raw["info"])
        if "data" in raw:  # written before the image folder
            return StoredImage(info, base64.b64decode(raw["data"]))
        assert self.images_dir is not None
        self._images_saved.add(info.sha256)
        return StoredImage(info, (self.images_dir / info.sha256).read_bytes())
