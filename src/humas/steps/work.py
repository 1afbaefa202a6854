"""Work steps ("concept", "coverage", "design"): a person makes part of the content, and the step waits for it.

Each work step has a product (``Step.deliverables``): the narration (the brief's ``caption``) for a concept,
files (photos, design files: listed in the brief's ``assets`` and dropped beside it) for a coverage or a
design. While its product is missing the step waits for its person, holding no worker slot, until something in
the item's folder changes (``humas deliver`` or a drop into the bucket). The step's clock starts when it starts
waiting (``start_waiting``, kept in ``work/<step>.json`` so it survives the wait) and stops at the delivery,
which records who delivered (``humas.delivery.delivered_by``: whom the bucket vouches for) and compares the time
with the standard time. A product already there when the step starts is recorded as delivered already, and the
step goes straight on. Before that, the brief and every file it lists must be as the item's submitter or a
roster person of the step that delivered it wrote them; anything else (a colleague's file dropped into the
folder, a file changed since it was delivered, one nobody vouches for) is refused with the reason, and the step
waits for its person again.

A design is then checked and each channel's renditions and the preview are made; a design that fails a check
goes back to its maker with the findings and the step waits again, as it does after an approver sent it back,
until the folder changes. The manifest the design returns (renditions and their digests) travels through
Airflow to the gates and the upload, so what an approver signs and what is posted are pinned by it.
"""
from __future__ import annotations

import json
import logging
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from humas import layout, sla
from humas.assets import check_assets
from humas.assets.limits import DEFAULT_LIMITS
from humas.delivery import Deliverer
from humas.exceptions import RosterError
from humas.notify import notify_work_request, remind_or_escalate
from humas.platforms import text_with_reference
from humas.review import sha256
from humas.roster import load_roster
from humas.status import read_status, utcnow
from humas.steps.base import WaitForChange
from humas.steps.intake import accepted_submitter
from humas.submission import sole_claimant
from humas.timetext import duration_words, wib

if TYPE_CHECKING:
    from humas.assets import AssetReview, Rendition
    from humas.roster import Roster
    from humas.steps.base import ItemStep

log = logging.getLogger(__name__)
# How long a work step keeps waiting for its person; lateness is reported long before by the SLA.
WORK_WAIT = timedelta(days=14)
# States in which the person was already told what to deliver at this step (a send-back): a wait keeps them.
_TOLD_STATES = ("assets_failed", "revision_requested", "delivery_refused")


def do_work(item: "ItemStep") -> dict[str, Any] | WaitForChange:
    """The step's product once its person has delivered it (a design checked): what the step returns, or a
    wait for the delivery."""
    files = item.files()
    revision = item.store.get_json(layout.revision_key(item.item_id)) or {}
    if revision.get("assets") == files:  # sent back for revision and nothing changed yet: wait for it
        return wait_for_delivery(item, files, f"perbaikan sesuai catatan revisi dari {revision.get('by', 'pemeriksa')}: "
                                              f"{revision.get('comment', '')}")
    missing = _missing(item, files)
    if missing:
        return wait_for_delivery(item, files, missing)
    strangers = not_entitled(item)
    if strangers:
        return _refuse_delivery(item, files, strangers)
    if item.step.stage == "design":
        return _check_design(item, files)
    return {**item.brief.to_dict(), "delivery": _record_delivery(item, files)}


def _missing(item: "ItemStep", files: dict[str, str]) -> str:
    """What the step's person has yet to deliver, in words; empty when it is all there."""
    wants, brief, missing = item.step.deliverables, item.brief, []
    if "caption" in wants and not brief.caption:
        missing.append("narasi (caption di brief.yaml)")
    if "assets" in wants:
        new = _new_files(item)
        absent = [name for name in new if layout.asset_key(item.item_id, name) not in files]
        if not new:
            missing.append("berkas (foto atau desain, dicantumkan di assets brief.yaml)")
        elif absent:
            missing.append(f"berkas {', '.join(absent)}")
    return " dan ".join(missing)


def _new_files(item: "ItemStep") -> list[str]:
    """The brief's files that no earlier work step of this run delivered (a design after a coverage waits for
    its own files, not the photos)."""
    earlier: set[str] = set()
    for step in item.sop.steps[: item.step.number - 1]:
        if step.kind == "work":
            earlier.update(((item.earlier(step.task_id) or {}).get("delivery") or {}).get("files") or [])
    return [name for name in item.brief.assets if name not in earlier]


def wait_for_delivery(item: "ItemStep", files: dict[str, str], what: str) -> WaitForChange:
    """Start (or go on) waiting for the step's person to deliver ``what``: until the item's folder changes; the
    wait reminds, then tells the miss, when due (80% and 100% of the step's own standard time from when it
    started waiting)."""
    since = datetime.fromisoformat(start_waiting(item, what)["since"])
    wake_at = remind_or_escalate(item, since)
    return WaitForChange(layout.item_prefix(item.item_id), files, WORK_WAIT, wake_at=wake_at, since=since)


def start_waiting(item: "ItemStep", what: str) -> dict[str, Any]:
    """THE moment a work step starts waiting for its role to deliver ``what`` by its due time.

    Writes the wait's record (``layout.work_key``: asked what, of which role, since when, due when) and tells
    the item's status, once per wait: a resumed or retried try finds the wait open and keeps its clock. This is
    the one place to hook a message to the person asked. Returns the record.
    """
    key = layout.work_key(item.item_id, item.step.task_id)
    record = item.store.get_json(key) or {}
    is_open = bool(record.get("since")) and not record.get("delivered_at")
    if is_open and record.get("asked") == what:
        return record
    since = datetime.fromisoformat(record["since"]) if is_open else utcnow()
    due = _due(item, since)
    record = {"step": item.step.task_id, "role": item.step.actor, "asked": what, "since": since.isoformat(),
              "due": due.isoformat() if due else None}
    item.store.put_json(key, record)
    message = (f"Menunggu {item.role_name} menyerahkan {what} untuk langkah {item.step.number} "
               f"({item.step.activity})" + (f", paling lambat {wib(due)}" if due else "") +
               f": unggah ke folder item atau jalankan humas deliver {item.item_id}")
    status = read_status(item.store, item.item_id) or {}
    if status.get("step") == item.step.task_id and status.get("state") in _TOLD_STATES:
        item.note("awaiting_delivery", message, asked=what, role=item.step.actor)
    else:
        item.enter("awaiting_delivery", message)
    # Each new request is its own round: the same request asked again (a retry, a resumed wait) is not re-sent.
    notify_work_request(item, f"{what}; unggah ke folder konten atau jalankan humas deliver {item.item_id}",
                        sha256(f"{record['since']}|{what}".encode())[:16], due)
    return record


def _due(item: "ItemStep", since: datetime) -> datetime | None:
    """When the delivery is due: the wait's start + the standard time, or the event-relative due moment."""
    if item.step.time.kind == "duration" and item.step.time.minutes:
        return since + timedelta(minutes=item.step.time.minutes)
    return sla.event_due(item.step, item.brief.event_date)


def _record_delivery(item: "ItemStep", folder: dict[str, str]) -> dict[str, Any]:
    """Record that the step's product is here: who delivered it, after how long (or that it was there already),
    compared with the standard time. Returns the delivery; a later try over the same folder (a retry after the
    delivery was recorded) gets the delivery as recorded."""
    key = layout.work_key(item.item_id, item.step.task_id)
    record = item.store.get_json(key) or {}
    if record.get("delivered_at") and record.get("folder") == folder and record.get("delivery"):
        return record["delivery"]
    waited = bool(record.get("since")) and not record.get("delivered_at")
    now, by = utcnow(), _deliverers(item)
    files = _new_files(item) if "assets" in item.step.deliverables else []
    delivery: dict[str, Any] = {"step": item.step.task_id, "by": by, "files": files,
                                "already": not waited, "delivered_at": now.isoformat()}
    who = _who(item, by)
    if waited:
        since = datetime.fromisoformat(record["since"])
        delivery.update(since=since.isoformat(), waited_seconds=int((now - since).total_seconds()))
        message = (f"Langkah {item.step.number}: {record.get('asked', 'hasil kerja')} diserahkan oleh {who} "
                   f"setelah {duration_words(now - since)} (waktu baku {item.step.time.describe()})")
    else:
        message = f"Langkah {item.step.number} ({item.step.activity}): hasil kerja sudah ada saat langkah dimulai ({who})"
    item.store.put_json(key, {**record, "step": item.step.task_id, "delivered_at": now.isoformat(), "by": by,
                              "folder": folder, "delivery": delivery})
    item.record("delivered", message, delivery=delivery)
    item.check_time(datetime.fromisoformat(record["since"]) if waited else None)
    return delivery


def _deliverers(item: "ItemStep") -> dict[str, str | None]:
    """Who delivered each part of the step's product (the narration: the brief; each new file), as vouched."""
    names = ([layout.BRIEF_NAME] if "caption" in item.step.deliverables else []) + \
        (_new_files(item) if "assets" in item.step.deliverables else [])
    found, roles, entitled = item.delivered_by(names), _roles_for(item), \
        _entitlement(item)
    return {("caption" if name == layout.BRIEF_NAME else name): entitled(who, roles.get(name, set())) or who.login
            for name, who in found.items()}


def _roles_for(item: "ItemStep") -> dict[str, set[str]]:
    """For the brief and each file it lists: the roles whose people may have written it in this run so far (the
    brief: every work step's, as each delivery rewrites it; a file: the step that delivered it, else this one)."""
    steps = [s for s in item.sop.steps[: item.step.number] if s.kind == "work"]
    mine = {item.step.actor} if item.step.kind == "work" else set()  # at a gate: only what earlier steps delivered
    roles = {layout.BRIEF_NAME: {s.actor for s in steps} | mine}
    roles.update({name: set(mine) for name in item.brief.assets})
    for step in (s for s in steps if s.task_id != item.step.task_id):
        for name in ((item.earlier(step.task_id) or {}).get("delivery") or {}).get("files") or []:
            roles[name] = {step.actor}
    return roles


def _submitter(item: "ItemStep") -> str | None:
    """The item's submitter as accepted; at the run's first step, the one person who claimed the submission
    (the brief's field alone could be rewritten by anyone)."""
    first = item.sop.steps[0].task_id == item.step.task_id
    return sole_claimant(item.store, item.item_id) if first else accepted_submitter(item)


def _entitlement(item: "ItemStep") -> Callable[[Deliverer, set[str]], str | None]:
    """Who may have written an object: its first vouched person who is the submitter or a roster person of one
    of the object's roles (any vouched person while the roster cannot be read)."""
    roster, submitter = _roster(item), _submitter(item)

    def entitled(who: Deliverer, roles: set[str]) -> str | None:
        for login in who.logins:
            person = roster.person(login) if roster else None
            if login == submitter or roster is None or (person and roles & set(person.roles)):
                return login
        return None
    return entitled


def _roster(item: "ItemStep") -> "Roster | None":
    try:
        return load_roster(item.sop)
    except RosterError as exc:  # a broken roster must not hold the work up: deliverers go by their claims
        log.warning("item %s: roster unreadable, deliverers checked by their claims only: %s", item.item_id, exc)
        return None


def not_entitled(item: "ItemStep") -> list[str]:
    """The brief and the files it lists that were not written by the submitter or a roster person of the step
    that delivered them (at a gate: a work step before it), each with why (Bahasa Indonesia)."""
    roles, entitled = _roles_for(item), _entitlement(item)
    problems = []
    for name, who in item.delivered_by(roles).items():
        if not who.logins:
            problems.append(who.doubt)
        elif not entitled(who, roles[name]):
            role_names = "".join(f" atau {item.sop.role(r).name}" for r in sorted(roles[name]))
            problems.append(f"{name} diserahkan oleh {', '.join(who.logins)}, bukan pengaju item{role_names} "
                            "menurut roster")
    return problems


def _refuse_delivery(item: "ItemStep", files: dict[str, str], problems: list[str]) -> WaitForChange:
    """Refuse what is in the folder with the reasons and wait for the step's person to deliver again."""
    item.record("delivery_refused", f"Langkah {item.step.number}: isi folder item ditolak: {'; '.join(problems)}. "
                f"{item.role_name} menyerahkan ulang dengan humas deliver {item.item_id}", problems=problems)
    return wait_for_claim(item, f"hasil kerja dari orang yang berhak ({'; '.join(problems)[:300]})")


def wait_for_claim(item: "ItemStep", what: str) -> WaitForChange:
    """Wait for ``what`` after a refusal: until someone's claim is written (every ``humas deliver`` writes one, the
    second time after its files are up), not until the folder changes (a delivery of the very bytes already
    there changes no file; a drop nobody claims is refused again anyway)."""
    start_waiting(item, what)
    return claims_change(item, WORK_WAIT)


def claims_change(item: "ItemStep", timeout: timedelta) -> WaitForChange:
    """A wait until the item's claims differ from those this try judged (a new delivery or submission claim,
    even one written while the refusal was being recorded)."""
    return WaitForChange(layout.claims_prefix(item.item_id), item.claims_listed, timeout)


def _who(item: "ItemStep", by: dict[str, str | None]) -> str:
    """The deliverers by name, each flagged when the roster does not give them the step's role."""
    roster = _roster(item)
    names = []
    for login in dict.fromkeys(by.values()):
        person = roster.person(login) if login and roster else None
        if person is None:
            names.append((f"{login} (tidak ada di roster)" if roster else login) if login
                         else "pengirim tidak diketahui")
        elif item.step.actor not in person.roles:
            names.append(f"{person.name} (bukan {item.role_name} menurut roster)")
        else:
            names.append(person.name)
    return ", ".join(names) or "pengirim tidak diketahui"


def _check_design(item: "ItemStep", files: dict[str, str]) -> dict[str, Any] | WaitForChange:
    """Check the brief's design files for every channel; the manifest, or a wait for a corrected file."""
    brief = item.brief
    with tempfile.TemporaryDirectory(prefix="humas-design-") as folder:   # videos and their renditions
        workdir = Path(folder)
        assets = [(name, _fetch(item, name, workdir / f"original-{n}{Path(name).suffix}"))
                  for n, name in enumerate(brief.assets, start=1)]
        item.enter(message=f"Memeriksa {len(assets)} berkas desain")
        checked = check_assets(item.item_id, assets, list(brief.channels),
                               text_with_reference(brief.caption, item.item_id),
                               placement_overrides=dict(brief.placements or {}), fit=brief.fit, workdir=workdir)
        manifest = _write_check(item, checked, files)
    log.info("asset findings for %s:\n%s", item.item_id, checked.to_markdown())
    if not checked.ok:
        _send_back_to_maker(item, checked)
        return wait_for_delivery(item, files, f"berkas desain perbaikan ({_errors_words(checked)})")
    delivery = _record_delivery(item, files)
    item.record("assets_passed", f"{len(checked.renditions)} berkas siap unggah",
                links={"findings": layout.findings_key(item.item_id, "md"),
                       "preview": layout.preview_key(item.item_id)})
    return {**manifest, "delivery": delivery}


def _fetch(item: "ItemStep", name: str, path: Path) -> bytes | Path:
    """One design file, saved to ``path`` (streamed: a video never sits whole in memory). A file too large to
    be any asset comes as its first bytes only, enough for the check to refuse it by its size."""
    key = layout.asset_key(item.item_id, name)
    info = item.store.head(key)
    if info is None:
        return b""
    if info.size > DEFAULT_LIMITS.max_video_input_bytes:
        return item.store.get_bytes(key, DEFAULT_LIMITS.max_input_bytes + 1) or b""
    return path if item.store.download(key, path) else b""


def _store_rendition(item: "ItemStep", r: "Rendition") -> dict[str, Any]:
    """Put one rendition (and a video's cover) in the bucket; its manifest entry."""
    store, item_id = item.store, item.item_id
    key = layout.rendition_key(item_id, r.channel, r.name)
    metadata = {"sha256": r.sha256, "source": r.source}
    if r.path:
        store.put_file(key, Path(r.path), r.content_type, metadata=metadata)
    else:
        store.put_bytes(key, r.data, r.content_type, metadata=metadata)
    entry = {"channel": r.channel, "key": key, "name": r.name, "sha256": r.sha256, "kind": r.kind,
             "content_type": r.content_type, "width": r.width, "height": r.height, "bytes": r.size}
    if r.duration is not None:
        entry["duration"] = round(r.duration, 3)
    if r.cover:
        cover = layout.cover_key(item_id, r.channel, r.name)
        store.put_bytes(cover, r.cover, "image/jpeg")
        entry.update(cover_key=cover, cover_sha256=sha256(r.cover))
    return entry


def _write_check(item: "ItemStep", checked: "AssetReview", files: dict[str, str]) -> dict[str, Any]:
    """Store the renditions, preview and findings; return the manifest the gates review and the upload posts."""
    store, item_id = item.store, item.item_id
    renditions = [_store_rendition(item, r) for r in checked.renditions]
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
