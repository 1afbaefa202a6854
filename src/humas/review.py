"""What an approver reviews, pinned by one digest: the brief's bytes and the design step's output.

The design step returns its manifest (renditions and preview with their sha256, and a fresh review id)
through Airflow, not the bucket, so nobody who can write the bucket can change what a digest stands for.
An approval is bound to the digest; publishing re-checks the bytes against it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Review:
    """The content of one item at one moment: its brief and (after the design step) its design."""

    item_id: str
    brief_sha256: str
    review_id: str = ""                 # names the files the design step checked: a corrected file is a new review
    preview_sha256: str = ""
    renditions: tuple[tuple[str, str], ...] = ()   # (bucket key, sha256), in post order

    @property
    def digest(self) -> str:
        body = {"item_id": self.item_id, "brief_sha256": self.brief_sha256, "review_id": self.review_id,
                "preview_sha256": self.preview_sha256, "renditions": [list(r) for r in self.renditions]}
        return sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "digest": self.digest, "brief_sha256": self.brief_sha256,
                "review_id": self.review_id, "preview_sha256": self.preview_sha256,
                "renditions": [{"key": k, "sha256": s} for k, s in self.renditions]}


def review_of(item_id: str, brief_bytes: bytes, design: Mapping[str, Any] | None) -> Review:
    """The review of the brief as it is now and the design manifest the design step returned (if any)."""
    if not design:
        return Review(item_id, sha256(brief_bytes))
    return Review(item_id, sha256(brief_bytes), str(design.get("review_id", "")),
                  str(design.get("preview_sha256", "")), _signed_files(design.get("renditions", [])))


def _signed_files(renditions: list[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """(key, sha256) of every file that will be posted: each rendition and a video's cover, in post order."""
    files = []
    for r in renditions:
        files.append((str(r["key"]), str(r["sha256"])))
        if r.get("cover_key"):
            files.append((str(r["cover_key"]), str(r["cover_sha256"])))
    return tuple(files)


