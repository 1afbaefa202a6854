"""Upload steps ("upload"): exactly what was approved, posted once per channel, and the link of every post
recorded as the item's receipt (the step's output in the SOP).

The brief and renditions are checked against the digest the last approving gate signed off; anything changed
since sends the run back (an edited brief to that gate, altered renditions to the design step). A retry only
re-tries the channels that are missing (``humas.publish``).
"""
from __future__ import annotations

import logging
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from humas import layout, quota
from humas.exceptions import PlatformError, PublishUncertainError, QuotaExhausted, StepFailed, StillProcessing
from humas.notify import AFTER_PUBLISH_FAILED, notify_publish_failed, notify_published
from humas.platforms import MediaRef, PostRequest
from humas.publish import publish_once, receipt, record_verified_media, verified_media
from humas.reports import write_item_report
from humas.review import sha256
from humas.status import utcnow
from humas.steps.base import SendBack, WaitUntil
from humas.steps.gate import current_review
from humas.steps.intake import accepted_submitter
from humas.timetext import wib
from humas.verify import check_post, posted_and_checked, stop_if_mismatched

if TYPE_CHECKING:
    from humas.platforms import PlatformClient
    from humas.sop import Step
    from humas.steps.base import ItemStep
    from humas.store import Store

log = logging.getLogger(__name__)


def publish_item(item: "ItemStep", client_for: Callable[[str], "PlatformClient"]
                 ) -> dict[str, Any] | WaitUntil | SendBack:
    """Post the approved content on every channel of the brief (at ``publish_at``, if later); the receipt.

    ``client_for(channel)`` is the platform client of the agency's account on that channel.
    """
    brief = item.brief
    if brief.publish_at and brief.publish_at > utcnow():
        item.enter(message=f"Dijadwalkan tayang {wib(brief.publish_at)}")
        return WaitUntil(brief.publish_at)
    with tempfile.TemporaryDirectory(prefix="humas-upload-") as folder:   # approved videos, streamed to disk
        approved = _approved_content(item, Path(folder))
        if isinstance(approved, SendBack):
            return approved
        item.enter("publishing", f"Mengunggah ke {', '.join(brief.channels)}")
        failures: dict[str, str] = {}
        waits: dict[str, QuotaExhausted] = {}
        processing: dict[str, datetime] = {}
        for channel in brief.channels:
            if posted_and_checked(item.store, item.item_id, channel):
                stop_if_mismatched(item, channel)   # a post showing other media than approved holds the rest
                continue   # posted on an earlier try; its link is in the record
            try:
                _publish_channel(item, client_for(channel), approved.get(channel))
            except QuotaExhausted as exc:   # this channel waits; the others go on
                waits[channel] = exc
                _wait_for_quota(item, exc)
            except StillProcessing as exc:  # the platform is still processing a video: look again later
                processing[channel] = exc.check_at
            except (PlatformError, PublishUncertainError) as exc:
                failures[channel] = str(exc)
                log.error("item %s not published on %s: %s", item.item_id, channel, exc)
    if (waits or processing) and not failures:
        wake = _processing(item, processing)
        if waits:
            wake.append(quota.record_quota_wait(item, waits))
        return WaitUntil(min(wake))
    if failures:
        names = ", ".join(quota.channel_name(c) for c in failures)
        reasons = "; ".join(f"{quota.channel_name(c)}: {m}" for c, m in failures.items())
        item.record("publish_failed", f"Gagal diunggah ke {names}. {AFTER_PUBLISH_FAILED[item.last_try]} ({reasons})",
                    failed=failures, last_try=item.last_try)
        notify_publish_failed(item, failures)
        raise StepFailed(f"item {item.item_id}: not published on {', '.join(failures)} "
                         "(published channels are recorded and will not be posted again on retry)")
    record = _record_links(item)
    item.check_time()
    return record


def _processing(item: "ItemStep", processing: dict[str, datetime]) -> list[datetime]:
    """Record that platforms are still processing the item's video (the upload looks again, holding no worker);
    when to look."""
    if processing:
        names = ", ".join(quota.channel_name(c) for c in processing)
        item.record("platform_processing", f"Video sedang diproses oleh {names}; diperiksa lagi "
                                           f"{wib(min(processing.values()))}", channels=sorted(processing))
    return list(processing.values())


def _publish_channel(item: "ItemStep", client: "PlatformClient", images: list[MediaRef] | None) -> None:
    """Post the item on one channel, exactly once, within the channel's quota (``QuotaExhausted`` otherwise)."""
    channel = client.channel
    if not images:
        raise PlatformError(channel, f"item {item.item_id} has no renditions for {channel}; "
                                     "the design step must pass for this channel first")
    brief = item.brief
    request = PostRequest(item.item_id, brief.caption, tuple(images), placement=(brief.placements or {}).get(channel))
    post = publish_once(item.store, client, request, since=item.accepted)
    log.info("item %s published on %s: %s", item.item_id, channel, post.permalink)
    quota.leave_line(item.store, channel, item.item_id)
    quota.note_after_post(item.store, client)
    check_post(item, client, request, post)   # what the platform shows is what was approved, or the step stops


def _wait_for_quota(item: "ItemStep", exc: QuotaExhausted) -> None:
    """A limit every post of the account meets is noted for the other items; otherwise the item keeps its place
    in the line of items waiting for the channel's quota."""
    if exc.shared:
        quota.note_exhausted(item.store, exc)
    else:
        quota.keep_place(item.store, exc.channel, item.item_id)


def _record_links(item: "ItemStep") -> dict[str, Any]:
    """The step's output: the link of every post, from the publish records, written as the item's receipt."""
    brief = item.brief
    record = receipt(item.store, item.item_id, list(brief.channels), brief.title, item.sop.id)
    item.store.put_json(layout.receipt_key(item.item_id), record)
    if not record["complete"]:
        raise StepFailed(f"item {item.item_id}: receipt incomplete, missing {record['missing']}")
    links = ", ".join(p["permalink"] for p in record["posts"])
    item.record("published", f"Tautan postingan: {links}", posts=record["posts"],
                links={"receipt": layout.receipt_key(item.item_id)})
    write_item_report(item.store, item.item_id, item.sop)
    notify_published(item, record["posts"], accepted_submitter(item))
    return record


def _approved_content(item: "ItemStep", folder: Path) -> dict[str, list[MediaRef]] | SendBack:
    """Each channel's renditions exactly as approved (videos streamed into ``folder``); a send-back if anything
    changed since. Channels already published are not read again."""
    gate, approval = _last_approval(item)
    if current_review(item, gate).digest != approval.get("review_digest"):
        return _changed(item, gate, "brief.yaml berubah setelah disetujui")
    media: dict[str, list[MediaRef]] = {}
    # The renditions of the design step before the upload (after the gate, in a SOP that checks the idea
    # before the design exists: then the design step's own checks are what stands for them).
    for n, r in enumerate((item.design_manifest() or {}).get("renditions", []), start=1):
        if posted_and_checked(item.store, item.item_id, r["channel"]):
            continue
        ref = _approved_file(item, r, folder / f"{n}-{r['name']}")
        if ref is None:
            return _changed(item, item.sop.design_before(item.step) or gate, f"berkas {r['key']} berubah setelah disetujui")
        media.setdefault(r["channel"], []).append(ref)
    return media


def _approved_file(item: "ItemStep", r: dict[str, Any], path: Path) -> MediaRef | None:
    """One rendition exactly as approved, or None when its bytes (or its cover's) are not the ones signed.
    URLs are pinned to the version just checked: a platform fetching later gets these bytes, whatever is
    written to the key since."""
    store = item.store
    if r.get("kind", "image") == "image":
        data, version = store.get_pinned(r["key"]) or (b"", None)
        if sha256(data) != r["sha256"]:
            return None
        return MediaRef(r["name"], store.presigned_get_url(r["key"], version_id=version), data, r["content_type"])
    video = _approved_video(item, r, path)
    if video is None:
        return None
    version, fetch = video
    cover_url = None
    if r.get("cover_key"):
        cover, cover_version = store.get_pinned(r["cover_key"]) or (b"", None)
        if sha256(cover) != r.get("cover_sha256"):
            return None
        cover_url = store.presigned_get_url(r["cover_key"], version_id=cover_version)
    return MediaRef(r["name"], store.presigned_get_url(r["key"], version_id=version), b"", r["content_type"],
                    path=str(path), kind=r["kind"], duration=r.get("duration"), cover_url=cover_url, fetch=fetch)


def _approved_video(item: "ItemStep", r: dict[str, Any], path: Path
                    ) -> tuple[str | None, Callable[[], None] | None] | None:
    """The version of the video's key holding the approved bytes, and how to bring that version to ``path`` when
    it is not there yet; None when the key holds other bytes. A version this channel's upload already read and
    hashed (its publish record says so) is not read again: a deferred try costs one HEAD, and downloads only if a
    client needs the bytes. Otherwise the video is streamed to ``path`` and hashed, and the version marked."""
    store, channel = item.store, r["channel"]
    known = verified_media(store, item.item_id, channel).get(r["key"])
    if known and known["sha256"] == r["sha256"] and store.version(r["key"]) == known["version"]:
        return known["version"], _fetcher(store, r, known["version"], path)
    got = store.download(r["key"], path)
    if got is None or got.sha256 != r["sha256"]:
        return None
    if got.version:   # an unversioned key may change under the same name: read whole on every try
        record_verified_media(store, item.item_id, channel, r["key"], got.version, got.sha256)
    return got.version, None


def _fetcher(store: "Store", r: dict[str, Any], version: str, path: Path) -> Callable[[], None]:
    """Streams ``version`` of the video to ``path`` (whole and hashed, or not at all)."""
    def fetch() -> None:
        part = path.with_name(path.name + ".part")
        got = store.download(r["key"], part, version_id=version)
        if got is not None and got.sha256 == r["sha256"]:
            part.replace(path)
            return
        part.unlink(missing_ok=True)   # a version's bytes never change: someone tampered with the bucket
        raise StepFailed(f"{r['name']} for {r['channel']}: the version checked on an earlier try no longer "
                         "holds the approved video, so nothing was sent from it; check that the bucket keeps "
                         "versions and run the design step again")
    return fetch


def _last_approval(item: "ItemStep") -> tuple["Step", dict[str, Any]]:
    for gate in reversed(item.sop.gates):
        decision = item.earlier(gate.task_id) or {}
        if decision.get("decision") == "approve":
            return gate, decision
    raise StepFailed(f"no gate of SOP {item.sop.id} approved this run; nothing may be published")


def _changed(item: "ItemStep", step: "Step", what: str) -> SendBack:
    message = f"{what}: dikembalikan ke langkah {step.number} ({step.activity}) untuk ditinjau ulang"
    log.warning("item %s: %s", item.item_id, message)
    item.record("changed_after_approval", message, step=step)
    return SendBack(step, message)
