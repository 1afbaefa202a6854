"""Work steps ("design"): the design is checked, each channel's renditions and the preview are made.

A design that fails a check goes back to its maker with the findings, and the step waits (holding no worker
slot) for a corrected file in the item's folder; so does a design an approver sent back until something in
the folder changes. What this returns, the manifest of renditions with their digests, travels through
Airflow to the gates and the upload, so what an approver signs and what is posted are pinned by it.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from humas import layout
from humas.assets import check_assets
from humas.assets.limits import DEFAULT_LIMITS
from humas.notify import notify_work_request
from humas.platforms import text_with_reference
from humas.review import sha256
from humas.steps.base import WaitForChange

if TYPE_CHECKING:
    from humas.assets import AssetReview
    from humas.steps.base import ItemStep

log = logging.getLogger(__name__)
# How long a design step keeps waiting for a corrected file; lateness is reported long before by the SLA.
CORRECTION_WAIT = timedelta(days=14)


def check_design(item: "ItemStep") -> dict[str, Any] | WaitForChange:
    """Check the brief's design files for every channel; the manifest, or a wait for a corrected file."""
    brief, files = item.brief, item.files()
    revision = item.store.get_json(layout.revision_key(item.item_id)) or {}
    if revision.get("assets") == files:  # sent back for revision and nothing changed yet: wait for it
        notify_work_request(item, f"revisi desain dari {revision.get('by', 'pemeriksa')}: {revision.get('comment', '')}; "
                                  "unggah berkas perbaikan dengan nama yang sama ke folder konten",
                            "r-" + _files_digest(files))
        return _wait_for_correction(item, files)
    # Enough of each file to refuse a huge one without holding it all in memory.
    limit = DEFAULT_LIMITS.max_input_bytes + 1
    assets = [(name, item.store.get_bytes(layout.asset_key(item.item_id, name), limit) or b"")
              for name in brief.assets]
    item.enter(message=f"Memeriksa {len(assets)} berkas desain")
    checked = check_assets(item.item_id, assets, list(brief.channels),
                           text_with_reference(brief.caption, item.item_id),
                           placement_overrides=dict(brief.placements or {}), fit=brief.fit)
    manifest = _write_check(item, checked, files)
    log.info("asset findings for %s:\n%s", item.item_id, checked.to_markdown())
    if not checked.ok:
        _send_back_to_maker(item, checked)
        notify_work_request(item, f"perbaiki desain: {_errors_words(checked)}; unggah berkas perbaikan dengan nama "
                                  "yang sama ke folder konten", "c-" + _files_digest(files))
        return _wait_for_correction(item, files)
    item.record("assets_passed", f"{len(checked.renditions)} berkas siap unggah",
                links={"findings": layout.findings_key(item.item_id, "md"),
                       "preview": layout.preview_key(item.item_id)})
    item.check_time()
    return manifest


def _wait_for_correction(item: "ItemStep", files: dict[str, str]) -> WaitForChange:
    return WaitForChange(layout.item_prefix(item.item_id), files, CORRECTION_WAIT)


def _write_check(item: "ItemStep", checked: "AssetReview", files: dict[str, str]) -> dict[str, Any]:
    """Store the renditions, preview and findings; return the manifest the gates review and the upload posts."""
    store, item_id = item.store, item.item_id
    renditions = []
    for r in checked.renditions:
        key = layout.rendition_key(item_id, r.channel, r.name)
        store.put_bytes(key, r.data, r.content_type, metadata={"sha256": r.sha256, "source": r.source})
        renditions.append({"channel": r.channel, "key": key, "name": r.name, "sha256": r.sha256,
                           "content_type": r.content_type, "width": r.width, "height": r.height})
    if checked.preview:
        store.put_bytes(layout.preview_key(item_id), checked.preview, "image/jpeg")
    store.put_json(layout.findings_key(item_id), {**checked.to_json(), "renditions": renditions,
                                                  "checked_files": files})
    store.put_bytes(layout.findings_key(item_id, "md"), checked.to_markdown().encode(), "text/markdown")
    # The review id names the files checked, so a retry over the same files is the same review (an approval
    # holds) and a corrected file is a new one.
    return {"renditions": renditions, "ok": checked.ok, "review_id": _files_digest(files, full=True),
            "preview_sha256": sha256(checked.preview or b"")}


def _files_digest(files: dict[str, str], full: bool = False) -> str:
    """The digest of the item's files (key -> ETag): what a check or a revision was about."""
    digest = sha256(json.dumps(files, sort_keys=True).encode())
    return digest if full else digest[:16]


def _errors_words(checked: "AssetReview") -> str:
    """The failed checks, one per file, in the words the designer reads."""
    return "; ".join(f"{f.asset or 'caption'}: {f.message_id}" for f in checked.findings if f.severity == "error")


def _send_back_to_maker(item: "ItemStep", checked: "AssetReview") -> None:
    errors = [f for f in checked.findings if f.severity == "error"]
    message = _errors_words(checked)
    item.record("assets_failed", f"Desain dikembalikan ke {item.role_name}: {message}. "
                                 f"Unggah berkas perbaikan ke {layout.item_prefix(item.item_id)}",
                findings=[f.to_dict() for f in errors], links={"findings": layout.findings_key(item.item_id, "md")})
