"""After a post: does the platform show what was approved?

The upload pins what a platform fetches to the checked version, but the proof is what the post shows. Once a post
is confirmed, its client reads back the picture of each media as the platform serves it (``shown_pictures``) and
each is compared with the approved rendition by its 64-bit difference hash (``humas.assets.checks.dhash``), since
Instagram, Facebook and X all re-encode what they receive: none documents that it keeps the bytes, so equal
bytes are recorded (``same_bytes``) but never required. A video is compared by its first frame, or its cover when
it has one, with the thumbnail the platform shows.

The result goes into the channel's publish record (``verification``). A difference stops the upload step: the
item's state says what differs, on which channel, with the post's link, and the upload role is told. Nothing is
deleted or posted again automatically: a person decides. A post whose pictures cannot be read back is noted as
unverified on the item, not stopped (the platform may not show them yet).
"""
from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

import requests

from humas.exceptions import PlatformError, StepFailed
from humas.notify import notify_media_mismatch
from humas.platforms import PICTURE_MATCH_BITS, Progress, first_frame_hash, picture_hash
from humas.profiles import load_profiles
from humas.publish import read_record, record_verification
from humas.status import utcnow

if TYPE_CHECKING:
    from humas.platforms import MediaRef, PlatformClient, PostRequest, PublishedPost
    from humas.steps.base import ItemStep
    from humas.store import Store

log = logging.getLogger(__name__)
COVER_TIMEOUT = 30.0   # seconds to read a video's approved cover back from the bucket


def compare(approved: "MediaRef", shown: bytes) -> dict[str, Any]:
    """One media: ``match`` (difference hash within PICTURE_MATCH_BITS), ``mismatch``, or ``unreadable``."""
    wanted = [h for h in _approved_hashes(approved) if h is not None]
    seen = picture_hash(shown) if shown else None
    row: dict[str, Any] = {"name": approved.name, "shown_sha256": hashlib.sha256(shown).hexdigest() if shown else None,
                           "same_bytes": bool(shown) and approved.kind == "image" and shown == approved.data}
    if not wanted or seen is None:
        return row | {"result": "unreadable", "distance": None}
    distance = min(bin(h ^ seen).count("1") for h in wanted)
    return row | {"result": "match" if distance <= PICTURE_MATCH_BITS else "mismatch", "distance": distance}


def _approved_hashes(approved: "MediaRef") -> list[int | None]:
    """The pictures the post may show for this media: an image; a video's first frame, or its cover (a Reel's
    thumbnail_url may be the cover it was given), read from its pinned URL."""
    if approved.kind == "image":
        return [picture_hash(approved.data)]
    hashes = [first_frame_hash(approved)]
    if approved.cover_url:
        try:
            response = requests.get(approved.cover_url, timeout=COVER_TIMEOUT)
            hashes.append(picture_hash(response.content) if response.status_code == 200 else None)
        except requests.RequestException as exc:
            log.warning("the cover of %s could not be read to compare: %s", approved.name, type(exc).__name__)
    return hashes


def verify_post(client: "PlatformClient", request: "PostRequest", post: "PublishedPost",
                progress: Progress) -> dict[str, Any]:
    """What the platform shows for `post` against the approved media: result match, mismatch or unverified."""
    checked_at = utcnow().isoformat()
    try:
        shown = client.shown_pictures(post, request, progress)
    except PlatformError as exc:
        return {"result": "unverified", "reason": str(exc), "media": [], "checked_at": checked_at}
    media = [compare(approved, picture) for approved, picture in zip(request.images, shown)]
    if len(shown) != len(request.images):
        return {"result": "mismatch", "media": media, "checked_at": checked_at, "shown_count": len(shown),
                "approved_count": len(request.images)}
    results = {row["result"] for row in media}
    result = "mismatch" if "mismatch" in results else "unverified" if "unreadable" in results else "match"
    return {"result": result, "media": media, "checked_at": checked_at}


def posted_and_checked(store: "Store", item_id: str, channel: str) -> bool:
    """Whether the channel's post is published and what it shows was compared: a post confirmed just before a
    crash is compared on the next try (its renditions are read again for that; nothing is posted again)."""
    record = read_record(store, item_id, channel)
    return record["state"] == "published" and bool(record.get("verification"))


def stop_if_mismatched(item: "ItemStep", channel: str) -> None:
    """On a later try, a channel already posted is not read again; a difference recorded for it still stops the
    step, so the channels after it are not posted until a person has checked."""
    record = read_record(item.store, item.item_id, channel)
    if (record.get("verification") or {}).get("result") == "mismatch":
        raise _mismatch(item, channel, record["post"]["permalink"], record["verification"])


def check_post(item: "ItemStep", client: "PlatformClient", request: "PostRequest", post: "PublishedPost") -> None:
    """Verify a confirmed post once (a match is not read again on a retry) and record it; on a difference record
    the item's state, tell the upload role and raise StepFailed, which stops the upload step."""
    channel = client.channel
    record = read_record(item.store, item.item_id, channel)
    if (record.get("verification") or {}).get("result") == "match":
        return
    found = verify_post(client, request, post, Progress(dict(record.get("progress") or {})))
    record_verification(item.store, item.item_id, channel, found)
    if found["result"] == "unverified":
        item.note("media_unverified", f"Tampilan postingan di {_name(channel)} belum dapat diperiksa "
                  f"({post.permalink}); periksa sendiri bahwa gambarnya sesuai yang disetujui", channel=channel)
    elif found["result"] == "mismatch":
        raise _mismatch(item, channel, post.permalink, found)


def _mismatch(item: "ItemStep", channel: str, link: str, found: dict[str, Any]) -> StepFailed:
    """Record the item's state and tell the upload role (once per person, however often the step runs); the
    error that stops the step."""
    what, name = _differences(found), _name(channel)
    item.record("media_mismatch", f"Postingan di {name} menampilkan media yang berbeda dari yang disetujui "
                f"({what}): {link}. Tidak ada yang dihapus atau diunggah ulang otomatis; periksa postingan itu, "
                "hapus manual jika salah, lalu hubungi admin pipeline", channel=channel, link=link,
                verification=found)
    notify_media_mismatch(item, name, link, what)
    log.error("item %s: %s post %s shows other media than approved: %s", item.item_id, channel, link, what)
    return StepFailed(f"item {item.item_id}: the {channel} post {link} shows other media than approved ({what}); "
                      "nothing is posted further until a person has checked it")


def _name(channel: str) -> str:
    return load_profiles()[channel].display_name


def _differences(found: dict[str, Any]) -> str:
    """What differs, in Bahasa: the number of media, or each file whose picture is not the approved one."""
    if "shown_count" in found:
        return f"jumlah media {found['shown_count']}, yang disetujui {found['approved_count']}"
    return ", ".join(f"gambar {row['name']} tidak sama" for row in found["media"] if row["result"] == "mismatch")
