"""After a post: does the platform show what was approved?

The upload pins what a platform fetches to the checked version, but the proof is what the post shows. Once a post
is confirmed, its client reads back the picture of each media as the platform serves it (``shown_pictures``) and
each is compared with the approved rendition by its 64-bit difference hash (``humas.assets.checks.dhash``), since
Instagram, Facebook and X all re-encode what they receive: none documents that it keeps the bytes, so equal
bytes are recorded (``same_bytes``) but never required. A video is compared by its first frame with the
thumbnail the platform shows.

The result goes into the channel's publish record (``verification``). A difference stops the upload step: the
item's state says what differs, on which channel, with the post's link, and the upload role is told. Nothing is
deleted or posted again automatically: a person decides. A post whose pictures cannot be read back is noted as
unverified on the item, not stopped (the platform may not show them yet).
"""
from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from humas.exceptions import PlatformError, StepFailed
from humas.notify import notify_media_mismatch
from humas.platforms import PICTURE_MATCH_BITS, Progress, first_frame_hash, picture_hash
from humas.profiles import load_profiles
from humas.publish import read_record, record_verification
from humas.status import utcnow

if TYPE_CHECKING:
    from humas.platforms import MediaRef, PlatformClient, PostRequest, PublishedPost
    from humas.steps.base import ItemStep

log = logging.getLogger(__name__)


def compare(approved: "MediaRef", shown: bytes) -> dict[str, Any]:
    """One media: ``match`` (difference hash within PICTURE_MATCH_BITS), ``mismatch``, or ``unreadable``."""
    wanted = picture_hash(approved.data) if approved.kind == "image" else first_frame_hash(approved)
    seen = picture_hash(shown) if shown else None
    row: dict[str, Any] = {"name": approved.name, "shown_sha256": hashlib.sha256(shown).hexdigest() if shown else None,
                           "same_bytes": bool(shown) and approved.kind == "image" and shown == approved.data}
    if wanted is None or seen is None:
        return row | {"result": "unreadable", "distance": None}
    distance = bin(wanted ^ seen).count("1")
    return row | {"result": "match" if distance <= PICTURE_MATCH_BITS else "mismatch", "distance": distance}


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


def check_post(item: "ItemStep", client: "PlatformClient", request: "PostRequest", post: "PublishedPost") -> None:
    """Verify a confirmed post once (a match is not read again on a retry) and record it; on a difference record
    the item's state, tell the upload role and raise StepFailed, which stops the upload step."""
    channel = client.channel
    record = read_record(item.store, item.item_id, channel)
    if (record.get("verification") or {}).get("result") == "match":
        return
    found = verify_post(client, request, post, Progress(dict(record.get("progress") or {})))
    record_verification(item.store, item.item_id, channel, found)
    name = load_profiles()[channel].display_name
    if found["result"] == "unverified":
        item.note("media_unverified", f"Tampilan postingan di {name} belum dapat diperiksa ({post.permalink}); "
                                      "periksa sendiri bahwa gambarnya sesuai yang disetujui", channel=channel)
        return
    if found["result"] == "match":
        return
    what = _differences(found)
    item.record("media_mismatch", f"Postingan di {name} menampilkan media yang berbeda dari yang disetujui "
                f"({what}): {post.permalink}. Tidak ada yang dihapus atau diunggah ulang otomatis; periksa "
                "postingan itu, hapus manual jika salah, lalu hubungi admin pipeline", channel=channel,
                link=post.permalink, verification=found)
    notify_media_mismatch(item, name, post.permalink, what)
    log.error("item %s: %s post %s shows other media than approved: %s", item.item_id, channel, post.permalink, what)
    raise StepFailed(f"item {item.item_id}: the {channel} post {post.permalink} shows other media than approved "
                     f"({what}); nothing is posted further until a person has checked it")


def _differences(found: dict[str, Any]) -> str:
    """What differs, in Bahasa: the number of media, or each file whose picture is not the approved one."""
    if "shown_count" in found:
        return f"jumlah media {found['shown_count']}, yang disetujui {found['approved_count']}"
    return ", ".join(f"gambar {row['name']} tidak sama" for row in found["media"] if row["result"] == "mismatch")
