"""The sandbox's memory: posts, Instagram containers, pending uploads and injected faults.

All of it sits behind one lock; `transaction()` holds the lock and, when a state file is configured,
writes the whole state to it afterwards so a restarted sandbox still knows what was published.
"""
from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from humas.sandbox.images import ImageInfo

# `error_500` and `rate_limit` refuse the request; the `_after_commit` modes carry it out (the post exists)
# and then answer with an error, or (timeout) not at all.
FAULT_MODES = ("timeout_after_commit", "error_500", "rate_limit", "error_500_after_commit",
               "rate_limit_after_commit")
FAULT_OPERATIONS = {
    "instagram": ("media", "media_publish"),
    "facebook": ("photos", "feed"),
    "x": ("media_upload", "tweets"),
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


@dataclass
class Pending:
    """An upload waiting to be attached: an unpublished Facebook photo or an X media id."""

    id: str
    channel: str
    account_id: str
    image: StoredImage
    created_at: float


@dataclass
class Fault:
    """A failure to inject into the next `count` requests of one channel's operation."""

    channel: str
    operation: str
    mode: str
    count: int = 1
    delay_seconds: float = 0.0
    after: int = 0            # let this many of the operation's requests through first


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
    if count < 1 or delay < 0 or after < 0:
        raise ValueError("count must be >= 1, delay_seconds >= 0 and after >= 0")
    return Fault(channel, operation, mode, count, delay, after)


class State:
    """Thread-safe in-memory state, optionally persisted to a JSON file."""

    def __init__(self, state_file: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.state_file = state_file
        self.posts: list[Post] = []
        self.containers: dict[str, Container] = {}
        self.pending: dict[str, Pending] = {}
        self.faults: list[Fault] = []
        self._seq = int(time.time() * 1000)
        if state_file and state_file.exists():
            self._load(json.loads(state_file.read_text(encoding="utf-8")))

    @contextmanager
    def transaction(self) -> Iterator[State]:
        """Hold the lock for a check-and-change; persist the result."""
        with self.lock:
            yield self
            self._save()

    def next_seq(self) -> int:
        """A number never handed out before by this sandbox (ids are built from it)."""
        with self.lock:
            self._seq += 1
            return self._seq

    def reset(self) -> None:
        with self.transaction():
            self.posts.clear()
            self.containers.clear()
            self.pending.clear()
            self.faults.clear()

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

    def find_post(self, post_id: str, channel: str | None = None) -> Post | None:
        with self.lock:
            return next((p for p in self.posts if p.id == post_id and channel in (None, p.channel)), None)

    # -- persistence -------------------------------------------------------------------------------
    def _save(self) -> None:
        if not self.state_file:
            return
        raw = {"seq": self._seq, "posts": [_dump(p) for p in self.posts],
               "containers": [_dump(c) for c in self.containers.values()],
               "pending": [_dump(p) for p in self.pending.values()]}
        tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
        tmp.write_text(json.dumps(raw), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def _load(self, raw: dict[str, Any]) -> None:
        self._seq = max(self._seq, int(raw.get("seq", 0)))
        self.posts = [Post(**_images_in(p)) for p in raw.get("posts", [])]
        self.containers = {c["id"]: Container(**_images_in(c)) for c in raw.get("containers", [])}
        self.pending = {p["id"]: Pending(**_images_in(p)) for p in raw.get("pending", [])}


def _dump(obj: Post | Container | Pending) -> dict[str, Any]:
    raw = asdict(obj)
    for image in raw.get("images", []) + ([raw["image"]] if "image" in raw else []):
        image["data"] = base64.b64encode(image["data"]).decode("ascii")
    return raw


def _stored(raw: dict[str, Any]) -> StoredImage:
    return StoredImage(ImageInfo(**raw["info"]), base64.b64decode(raw["data"]))


def _images_in(raw: dict[str, Any]) -> dict[str, Any]:
    raw = dict(raw)
    if "images" in raw:
        raw["images"] = [_stored(i) for i in raw["images"]]
    if "image" in raw:
        raw["image"] = _stored(raw["image"])
    return raw
