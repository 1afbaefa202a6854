"""The dispatcher's core: which inbox items need a run, and what to do with each.

One run per item comes from the deterministic run id (``layout.run_id_for``): asking twice is harmless,
so the records below only keep the dispatcher from asking again and again. An item is "pending" until
its run has started; a request that got no started run within ``RETRY_AFTER`` is asked again, so a
crash between asking and starting leaves no silent gap.

One bad item never holds up the others: whatever its brief contains, it is refused with problems staff can
act on, and a bucket error while looking at one item only makes that item wait for the next look.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Collection, Mapping

from humas import layout
from humas.brief import Brief, parse_brief, read_brief_bytes
from humas.exceptions import BriefError, LayoutError, Problem
from humas.reports import write_item_report
from humas.roster import submitter_problems
from humas.status import record_state, utcnow
from humas.submission import uploader, verified_submitter
from humas.yamlio import short_repr

if TYPE_CHECKING:
    from humas.store import ObjectInfo, Store

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=2)
MISSING_ASSET_GRACE = timedelta(minutes=15)
# Items start_item_runs handles at once: each mostly waits on the bucket and the API server, so a few overlap
# well; more would only queue at the API server's one worker and database (and pass boto3's 10 connections).
START_WORKERS = 4


@dataclass(frozen=True)
class Decision:
    item_id: str
    action: str                  # "start" | "refuse" | "wait"
    reason: str = ""
    brief: Brief | None = None
    problems: tuple[Problem, ...] = ()
    brief_etag: str = ""
    missing_assets: tuple[str, ...] = ()
    recheck_at: datetime | None = None  # a "wait" that nothing but a file change can end before this moment


def _dispatch_records(store: "Store") -> dict[str, dict[str, "ObjectInfo"]]:
    """Stage (requested, started, refused) -> item -> its record as listed, from one listing of ``dispatch/``;
    ``unusable`` -> record key -> the record of a folder that cannot be an item."""
    records: dict[str, dict[str, ObjectInfo]] = {stage: {} for stage in (*layout.DISPATCH_STAGES, "unusable")}
    for obj in store.list(layout.DISPATCH):
        stage = obj.key[len(layout.DISPATCH):].partition("/")[0]
        item_id = layout.item_id_from_dispatch_key(stage, obj.key) if stage in layout.DISPATCH_STAGES else None
        if item_id:
            records[stage][item_id] = obj
        elif stage == "unusable":
            records["unusable"][obj.key] = obj
    return records


def _item_files(store: "Store", item_id: str) -> dict[str, "ObjectInfo"]:
    prefix = layout.item_prefix(item_id)
    return {obj.key[len(prefix):]: obj for obj in store.list(prefix)}


def _folder_records(store: "Store", folders: Collection[str]) -> dict[str, dict[str, "ObjectInfo"]]:
    """``_dispatch_records`` for a few folders, from a look at each of their records (no listing of ``dispatch/``)."""
    records: dict[str, dict[str, ObjectInfo]] = {stage: {} for stage in (*layout.DISPATCH_STAGES, "unusable")}
    for folder in folders:
        if not layout.is_item_id(folder):
            key = layout.unusable_folder_key(folder)
            info = store.head(key)
            if info is not None:
                records["unusable"][key] = info
            continue
        for stage in layout.DISPATCH_STAGES:
            info = store.head(layout.dispatch_key(stage, folder))
            if info is not None:
                records[stage][folder] = info
    return records


# A look at the inbox reads one page of it (S3's largest) after where the last look stopped, so it costs one
# request however many items the inbox holds; a change in a folder is seen within one round of the inbox
# (its keys / SWEEP_KEYS looks, e.g. 10,000 two-file items: 20 looks).
SWEEP_KEYS = 1000
# With at most this many folders to decide, each one's records are read one by one (3 HEADs), not the
# listing of dispatch/ (which holds a record of every item ever started).
RECORD_HEADS_UP_TO = 8
_Files = dict[str, "ObjectInfo"]


class InboxWatch:
    """The items of the inbox that need the dispatcher, for a dispatcher that looks every few seconds.

    An item is pending until its run has started; a request with no started run is asked again after
    ``RETRY_AFTER``; a refused item is pending again when its brief changes or a file it lacked arrives.
    The first look reads the whole inbox; every later look reads the next ``SWEEP_KEYS`` keys after where
    the last one stopped (whole folders; back to the start after the last), so settled items cost no
    request of their own: a steady look is one listing request whether the inbox holds 10 items or 10,000.
    A folder is decided again only when its files (names and ETags) differ from what the sweep saw last,
    or while it is open (neither settled nor waiting): started items never again (their run owns the folder),
    refused ones when their brief or a missing file changes. ``dispatch/`` is listed only when many folders
    changed at once (the first look); otherwise each changed folder's records are looked at by key.
    Items that wait for files (``note``) are looked at again only when their files change or their wait ends.
    """

    def __init__(self, sweep_keys: int = SWEEP_KEYS) -> None:
        self._sweep_keys = sweep_keys
        self._cursor: str | None = None  # the sweep goes on after this key ("": from the first); None: not begun
        self._files: dict[str, _Files] = {}  # folder -> its files as the sweep saw them last
        self._settled: dict[str, frozenset[tuple[str, str]] | None] = {}  # item -> its files; None: started
        self._refusals: dict[str, tuple[str, dict[str, Any]]] = {}  # item -> (its marker's ETag, the record)
        self._waiting: dict[str, tuple[frozenset[tuple[str, str]], datetime]] = {}  # item -> (files, until)
        self._open: set[str] = set()  # folders neither settled nor waiting: decided again on every look

    def pending_items(self, store: "Store", now: datetime | None = None) -> list[str]:
        """Inbox items with no started run and no fresh request, oldest-named first."""
        now = now or utcnow()
        changed = self._sweep(store)
        for folder in sorted(f for f in changed if f in self._settled and self._settled[f] is None):
            log.info("item %s changed after its run started: no second run (one run per item); a running run's "
                     "steps read the change, a finished item needs a new item folder", folder)
        candidates = sorted(f for f in changed | self._open
                            if f in self._files and not self._unchanged(f, self._files[f], now))
        if not candidates:
            return []
        inbox = {folder: self._files[folder] for folder in candidates}
        records = (_dispatch_records(store) if len(candidates) > RECORD_HEADS_UP_TO
                   else _folder_records(store, candidates))
        pending, settled = _pending_in(store, inbox, records, now, self._refusals)
        for folder in candidates:
            if folder in settled:
                self._settled[folder] = settled[folder]
                self._waiting.pop(folder, None)
                self._open.discard(folder)
            else:
                self._settled.pop(folder, None)
                self._open.add(folder)
        return pending

    def note(self, decision: Decision) -> None:
        """Remember a "wait" that only a file change (or its ``recheck_at``) can end."""
        files = self._files.get(decision.item_id)
        if decision.action == "wait" and decision.recheck_at is not None and files is not None:
            self._waiting[decision.item_id] = (_file_signature(files), decision.recheck_at)

    def _sweep(self, store: "Store") -> set[str]:
        """Read the next part of the inbox (all of it on the first look); the folders new or changed since."""
        whole = self._cursor is None
        changed: set[str] = set()
        while True:
            start = self._cursor or ""
            folders, self._cursor = self._next_part(store, start)
            changed |= self._take(folders, start, self._cursor)
            if not whole or self._cursor == "":
                return changed

    def _next_part(self, store: "Store", start: str) -> tuple[dict[str, _Files], str]:
        """The whole folders of one page after ``start`` (more pages while one folder fills them), and the key
        the next part starts after ("" when the inbox ended: the next part is its start)."""
        got: list[ObjectInfo] = []
        after = start
        while True:
            page, more = store.list_after(layout.INBOX, after, self._sweep_keys)
            got += page
            if not more or not page:
                return _by_folder(got), ""
            last, cut = _group(page[-1].key), len(got)
            while cut > 0 and _group(got[cut - 1].key) == last:
                cut -= 1  # the page's last folder may go on in the next page: the next part starts with it
            if cut > 0:
                return _by_folder(got[:cut]), got[cut - 1].key
            after = page[-1].key

    def _take(self, folders: Mapping[str, _Files], start: str, end: str) -> set[str]:
        """Remember the folders read between the keys ``start`` and ``end``; forget those no longer there."""
        for gone in [f for f in self._files if f not in folders and _between(f, start, end)]:
            for memory in (self._files, self._settled, self._refusals, self._waiting):
                memory.pop(gone, None)
            self._open.discard(gone)
        changed = set()
        for folder, files in folders.items():
            before = self._files.get(folder)
            if before is None or _file_signature(before) != _file_signature(files):
                changed.add(folder)
            self._files[folder] = dict(files)
        return changed

    def _unchanged(self, item_id: str, files: Mapping[str, "ObjectInfo"], now: datetime) -> bool:
        if item_id not in self._settled:
            return self._still_waiting(item_id, files, now)
        then = self._settled[item_id]
        return then is None or then == _file_signature(files)

    def _still_waiting(self, item_id: str, files: Mapping[str, "ObjectInfo"], now: datetime) -> bool:
        signature, until = self._waiting.get(item_id, (None, now))
        return now < until and signature == _file_signature(files)


def _group(key: str) -> str:
    """The folder of an inbox key, or the key itself for a file outside any folder."""
    place = layout.inbox_folder_of(key)
    return place[0] if place else key


def _by_folder(objects: list["ObjectInfo"]) -> dict[str, _Files]:
    folders: dict[str, _Files] = {}
    for obj in objects:
        place = layout.inbox_folder_of(obj.key)
        if place:
            folders.setdefault(place[0], {})[place[1]] = obj
    return folders


def _between(folder: str, start: str, end: str) -> bool:
    """Whether the folder's keys lie after the key ``start`` and up to the key ``end`` ("": to the end)."""
    prefix = layout.inbox_folder_prefix(folder)
    return prefix > start and (end == "" or prefix <= end)


def item_pending(store: "Store", item_id: str, now: datetime | None = None) -> bool:
    """Whether one item needs the dispatcher (what the bucket webhook asks), as ``InboxWatch`` decides for all."""
    pending, _ = _pending_in(store, {item_id: _item_files(store, item_id)}, _folder_records(store, [item_id]),
                             now or utcnow(), {})
    return bool(pending)


def _file_signature(files: Mapping[str, "ObjectInfo"]) -> frozenset[tuple[str, str]]:
    return frozenset((name, obj.etag) for name, obj in files.items())


def _pending_in(store: "Store", inbox: Mapping[str, Mapping[str, "ObjectInfo"]],
                records: Mapping[str, Mapping[str, "ObjectInfo"]], now: datetime,
                refusals: dict[str, tuple[str, dict[str, Any]]]
                ) -> tuple[list[str], dict[str, frozenset[tuple[str, str]] | None]]:
    """The pending items of ``inbox``, and the settled ones (started, or refused and unchanged).

    ``records``: the dispatcher's records by stage and item; ``refusals``: the refusal records read so far,
    by item, with their marker's ETag (a record is read again only when its marker is new or rewritten).
    """
    started, requested = records["started"], records["requested"]
    pending: list[str] = []
    settled: dict[str, frozenset[tuple[str, str]] | None] = {}
    for item_id, files in inbox.items():
        if item_id in started:
            settled[item_id] = None
            continue
        if item_id in requested and now - requested[item_id].last_modified < RETRY_AFTER:
            continue
        marker = _refusal_marker(records, item_id)
        try:
            if marker and not _changed_since_refusal(_refusal_of(store, item_id, marker, refusals), files):
                settled[item_id] = _file_signature(files)
                continue
        except Exception:  # noqa: BLE001 - a bucket error on one item: it waits for the next look
            log.warning("item %s: cannot read its refusal record now; trying again later", item_id, exc_info=True)
            continue
        pending.append(item_id)
    return pending, settled


def _refusal_marker(records: Mapping[str, Mapping[str, "ObjectInfo"]], folder: str) -> "ObjectInfo | None":
    """The dispatcher's refusal record of an item, or of a folder that cannot be an item, as listed."""
    if layout.is_item_id(folder):
        return records["refused"].get(folder)
    return records["unusable"].get(layout.unusable_folder_key(folder))


def _refusal_of(store: "Store", item_id: str, marker: "ObjectInfo",
                refusals: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The dispatcher's refusal record; {} when it cannot be parsed (the item is then assessed anew)."""
    cached = refusals.get(item_id)
    if cached and cached[0] == marker.etag:
        return cached[1]
    try:
        record = store.get_json(marker.key)
    except ValueError:
        log.warning("item %s: refusal record is not JSON; assessing the item again", item_id)
        record = {}
    record = record if isinstance(record, dict) else {}
    refusals[item_id] = (marker.etag, record)
    return record


def _changed_since_refusal(record: dict[str, Any], files: Mapping[str, "ObjectInfo"]) -> bool:
    """A refused item is looked at again when its brief changes or a file it lacked has arrived."""
    brief = files.get(layout.BRIEF_NAME)
    if brief is not None and brief.etag != record.get("brief_etag"):
        return True
    missing = record.get("missing_assets")
    names = [n for n in missing if isinstance(n, str)] if isinstance(missing, list) else []
    return any(name in files for name in names)


def assess_item(store: "Store", item_id: str, sops: Mapping[str, Any], channels: Collection[str],
                now: datetime | None = None) -> Decision:
    """Decide whether an item's run can start, must be refused, or must wait for files.

    Never raises: a brief that cannot be validated for any reason is refused (with problems in Bahasa
    Indonesia and the brief's etag, so a fixed brief is picked up again); a bucket error makes it wait.
    """
    now = now or utcnow()
    if not layout.is_item_id(item_id):
        return _unusable_folder(store, item_id)
    try:
        info = store.head(layout.brief_key(item_id))
        data = None if info is None else read_brief_bytes(store, item_id)
    except Exception as exc:  # noqa: BLE001 - one item's bucket error must not stop the others
        return _bucket_trouble(item_id, "reading brief.yaml", exc)
    if info is None or data is None:
        return Decision(item_id, "wait", "no brief.yaml yet", recheck_at=datetime.max.replace(tzinfo=now.tzinfo))
    try:
        brief = parse_brief(item_id, data, sops, channels)
    except Exception as exc:  # noqa: BLE001 - whatever the brief provokes refuses this item only
        return _refusal(item_id, _problems_of(item_id, exc), info.etag)
    try:
        files = _item_files(store, item_id)
    except Exception as exc:  # noqa: BLE001
        return _bucket_trouble(item_id, "listing its files", exc)
    missing = [name for name in brief.assets if name not in files]
    if missing:
        return _missing(item_id, missing, info, now)
    return _submitted(store, brief, info, files, sops)


def _missing(item_id: str, missing: list[str], brief: "ObjectInfo", now: datetime) -> Decision:
    """Files the brief lists are not there: wait for them a while (nothing to do per look), then refuse."""
    if now - brief.last_modified < MISSING_ASSET_GRACE:
        return Decision(item_id, "wait", f"waiting for {', '.join(missing)} to finish uploading",
                        recheck_at=brief.last_modified + MISSING_ASSET_GRACE)
    problem = Problem("assets", f"file {', '.join(missing)} tercantum di brief tetapi tidak ada di "
                      f"{layout.item_prefix(item_id)}", "unggah file itu di samping brief.yaml, atau hapus dari assets")
    return _refusal(item_id, [problem], brief.etag, missing_assets=tuple(missing))


def _submitted(store: "Store", brief: Brief, info: "ObjectInfo", files: Mapping[str, "ObjectInfo"],
               sops: Mapping[str, Any]) -> Decision:
    """Start the item if the person whose own identity claimed it is the brief's submitter, in its roster."""
    try:
        who, problems = verified_submitter(store, brief.item_id, brief.digest, brief.submitter, files)
    except Exception as exc:  # noqa: BLE001
        return _bucket_trouble(brief.item_id, "reading its claims", exc)
    problems = problems or submitter_problems(who or "", sops[brief.sop])  # an identity: self-approval is caught
    if problems:
        return _refusal(brief.item_id, problems, info.etag)
    return Decision(brief.item_id, "start", brief=brief, brief_etag=info.etag)


def _unusable_folder(store: "Store", folder: str) -> Decision:
    """A folder whose name cannot be an item id: refused with the reason (it is never silently ignored)."""
    try:
        info = store.head(layout.folder_brief_key(folder))
    except Exception as exc:  # noqa: BLE001
        return _bucket_trouble(folder, "reading brief.yaml", exc)
    problem = Problem("item", f"nama folder {short_repr(folder)} tidak bisa dipakai sebagai id item: "
                      f"{_id_trouble(folder)}", "ganti nama folder: 1-80 huruf/angka Latin tanpa spasi, '.', '_' "
                      "atau '-', diawali huruf atau angka, tanpa '..', mis. 2026-11-22-hut-kota, lalu unggah ulang")
    return _refusal(folder, [problem], info.etag if info else "")


def _id_trouble(folder: str) -> str:
    """What is wrong with a folder name as an item id, in words staff can act on."""
    if len(folder) > 80:
        return f"panjangnya {len(folder)} karakter (paling banyak 80)"
    if ".." in folder:
        return "memuat '..'"
    odd = sorted({c for c in folder if not (c.isascii() and (c.isalnum() or c in "._-"))})
    if odd:
        return "memuat karakter yang tidak boleh: " + ", ".join(_char_name(c) for c in odd[:5])
    return "harus diawali huruf atau angka"


def _char_name(char: str) -> str:
    return "spasi" if char == " " else f"U+{ord(char):04X}" if not char.isprintable() else repr(char)


def _problems_of(item_id: str, exc: Exception) -> list[Problem]:
    """The problems to show staff for an error raised while validating the item's brief."""
    if isinstance(exc, BriefError):
        return exc.problems
    if isinstance(exc, LayoutError):
        return [Problem("item", f"nama folder {short_repr(item_id)} tidak bisa dipakai sebagai id item",
                        "ganti nama folder: 1-80 huruf, angka, '.', '_' atau '-', mis. 2026-11-22-hut-kota")]
    log.error("item %s: brief.yaml could not be validated", item_id, exc_info=exc)
    return [Problem("brief.yaml", f"tidak dapat diperiksa ({type(exc).__name__}: {short_repr(str(exc))})",
                    "samakan brief dengan contoh di include/sample/ lalu unggah ulang; bila tetap ditolak, "
                    "laporkan ke admin pipeline")]


def _refusal(item_id: str, problems: list[Problem], etag: str, missing_assets: tuple[str, ...] = ()) -> Decision:
    lines = "; ".join(f"{p.field}: {p.message} (perbaikan: {p.fix})" for p in problems)
    name = item_id if layout.is_item_id(item_id) else short_repr(item_id)
    reason = (f"Brief item {name} ditolak, {len(problems)} masalah: {lines}. "
              "Perbaiki brief.yaml lalu unggah ulang; item akan diperiksa lagi.")
    log.warning("item %s: brief refused with %d problem(s)", name, len(problems))
    return Decision(item_id, "refuse", reason, problems=tuple(problems), brief_etag=etag,
                    missing_assets=missing_assets)


def _bucket_trouble(item_id: str, doing: str, exc: Exception) -> Decision:
    log.warning("item %s: bucket error while %s; it waits for the next look", item_id, doing, exc_info=exc)
    return Decision(item_id, "wait", f"bucket error while {doing}: {type(exc).__name__}: {short_repr(str(exc))}")


def record_refusal(store: "Store", decision: Decision) -> None:
    """Tell staff why the item was refused (status + refusal.json + the item report) and stop re-reading this
    brief."""
    problems = [{"field": p.field, "message": p.message, "fix": p.fix} for p in decision.problems]
    record = {"item_id": decision.item_id, "brief_etag": decision.brief_etag, "problems": problems,
              "missing_assets": list(decision.missing_assets), "message": decision.reason,
              "at": utcnow().isoformat()}
    if not layout.is_item_id(decision.item_id):  # no item: the record is all there is (humas status reads it)
        store.put_json(layout.unusable_folder_key(decision.item_id), record)
        return
    store.put_json(layout.refusal_key(decision.item_id), record)
    store.put_json(layout.dispatch_key("refused", decision.item_id), record)
    record_state(store, decision.item_id, "refused", message=decision.reason, submitter=_uploader(store, decision),
                 details={"problems": problems, "links": {"refusal": layout.refusal_key(decision.item_id)}})
    write_item_report(store, decision.item_id)  # the SOP's record of the item, as for one that ends later


def _uploader(store: "Store", decision: Decision) -> str | None:
    """Whom a refusal is for: the one person whose own claim is of the refused brief (their view shows it)."""
    try:
        return uploader(store, decision.item_id)
    except Exception:  # noqa: BLE001 - the refusal is recorded all the same, only without a view
        log.warning("item %s: cannot read its claims; the refusal has no submitter's view", decision.item_id,
                    exc_info=True)
        return None


def record_requested(store: "Store", decision: Decision, dag_id: str) -> None:
    store.put_json(layout.dispatch_key("requested", decision.item_id),
                   {"item_id": decision.item_id, "dag_id": dag_id, "run_id": layout.run_id_for(decision.item_id),
                    "brief_digest": decision.brief.digest if decision.brief else "", "at": utcnow().isoformat()})


def record_started(store: "Store", item_id: str, dag_id: str, run_id: str) -> bool:
    """Mark the item's run as started (Airflow has it); False if it was marked already (nothing is overwritten)."""
    return store.put_json_if_absent(layout.dispatch_key("started", item_id),
                                    {"item_id": item_id, "dag_id": dag_id, "run_id": run_id, "at": utcnow().isoformat()})


def actionable_items(store: "Store", sops: Mapping[str, Any], channels: Collection[str],
                     now: datetime | None = None, watch: InboxWatch | None = None) -> list[Decision]:
    """Pending items the dispatcher can act on now (start or refuse); items still uploading are left.

    ``watch``: the dispatcher's memory of settled items between looks (see ``InboxWatch``).
    """
    watch = watch or InboxWatch()
    decisions = [assess_item(store, item_id, sops, channels, now) for item_id in watch.pending_items(store, now)]
    for decision in decisions:
        watch.note(decision)
    return [d for d in decisions if d.action != "wait"]


# ------------------------------------------------------------- starting runs at once (no task per item)


def start_item_runs(store: "Store", decisions: list[Decision], dag_ids: Mapping[str, str],
                    start_run: Callable[[str, str, dict[str, Any]], str],
                    workers: int = START_WORKERS) -> dict[str, str]:
    """Record every decision and ask for each accepted item's run at once: ``start_run(dag_id, run_id, conf)``.

    ``start_run`` returns ``"created"``, or ``"exists"`` when the run id is taken (one run per item: a repeated
    request, a racing dispatcher or webhook is harmless), and raises when the run could not be asked for; the
    request record then ages out and the item is asked for again after ``RETRY_AFTER``.
    Up to ``workers`` items are handled at once, so ``start_run`` and ``store`` are called from several threads.
    Returns item id -> ``refused`` | ``created`` | ``exists`` | ``wait`` | ``failed: <why>``, in the order of
    ``decisions``.
    """
    def carry_out(decision: Decision) -> str:
        try:
            return _start_one(store, decision, dag_ids, start_run)
        except Exception as exc:  # noqa: BLE001 - one item's trouble must not hold up the others
            log.warning("item %s: cannot start its run now; asked again later", decision.item_id, exc_info=True)
            return f"failed: {type(exc).__name__}: {str(exc)[:300]}"

    if workers <= 1 or len(decisions) <= 1:
        outcomes = [carry_out(d) for d in decisions]
    else:
        with ThreadPoolExecutor(min(workers, len(decisions)), thread_name_prefix="humas-start-run") as pool:
            outcomes = list(pool.map(carry_out, decisions))
    return {d.item_id: outcome for d, outcome in zip(decisions, outcomes)}


def _start_one(store: "Store", decision: Decision, dag_ids: Mapping[str, str],
               start_run: Callable[[str, str, dict[str, Any]], str]) -> str:
    if decision.action == "refuse":
        record_refusal(store, decision)
        return "refused"
    if decision.action != "start" or decision.brief is None:
        return "wait"
    dag_id = dag_ids[decision.brief.sop]
    record_requested(store, decision, dag_id)
    record_state(store, decision.item_id, "received", submitter=decision.brief.submitter,  # vouched: _submitted
                 message=f"Diterima; menjalankan SOP {decision.brief.sop} ({dag_id})")
    run_id = layout.run_id_for(decision.item_id)
    outcome = start_run(dag_id, run_id, {"item_id": decision.item_id})
    record_started(store, decision.item_id, dag_id, run_id)  # Airflow has the run: the item is settled
    return outcome
