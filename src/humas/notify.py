"""Who is told what, and in which words: the notifications of an item's steps (through ``humas.outbox``).

- a step that starts waiting for people: its role's holders get an approval request (a gate) or a work
  request (``notify_work_request``: a design sent back, or any step that waits for a person's work);
- 80% of a step's standard time gone, counted from when that step started waiting, and the step still open: a
  reminder to its role's holders (``remind_or_escalate``, from the waiting step itself);
- a missed step (a run deadline passed, ``escalate_late_step``, or the waiting step's own standard time,
  ``escalate_open_step``): its role's holders, and an escalation to the supervising role (``supervisors`` in
  the roster), once per step per item;
- every decision and the publishing: the item's submitter; a publish failure, a post showing other media than
  approved (``humas.verify``), or a channel waiting for its quota (``humas.quota.record_quota_wait``): the upload
  role.

Each notice goes out once per (item, step, kind, round, person): a ``round_`` is what makes a new request of
the same kind at the same step news (a new review after a revise, a new set of files). A person without
contact details is skipped with a note on the item, never an error. Words: Bahasa Indonesia, times in WIB,
durations in words, no internal ids beyond the item's own name, no server paths.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Iterable

from humas import layout, outbox, sla
from humas.exceptions import ItemRefused, RosterError
from humas.outbox import Message
from humas.roster import load_roster
from humas.sop import available_sops
from humas.status import utcnow
from humas.timetext import duration_words, wib

if TYPE_CHECKING:
    from humas.outbox import Transport
    from humas.roster import Person, Roster
    from humas.sop import Sop, Step
    from humas.steps.base import ItemStep
    from humas.store import Store

log = logging.getLogger(__name__)
UI_URL_ENV = "HUMAS_UI_URL"  # the Airflow UI as people reach it, e.g. https://humas.singkawangkota.go.id
REMINDER_SHARE = 0.8         # a reminder when this share of a step's standard time has gone
SEND_PENDING_AFTER = timedelta(minutes=2)  # a notice unsent this long lost its sender (which sends within seconds)


def approval_link(item_id: str) -> str:
    """The item's page on the approval service, with the UI's address when the deployment gives it."""
    return os.environ.get(UI_URL_ENV, "").rstrip("/") + f"/humas/approvals/{layout.check_item_id(item_id)}"


def step_budget(step: "Step") -> timedelta | None:
    """The step's own standard time; None for a step without a fixed one ("Menyesuaikan", before an event)."""
    return timedelta(minutes=step.time.minutes) if step.time.kind == "duration" and step.time.minutes else None


def due_words(step: "Step", started: datetime) -> str:
    """When the step is due, in words: the WIB moment, or that the SOP sets no fixed time."""
    budget = step_budget(step)
    if budget is None:
        return f"Waktu baku: {step.time.text} (tanpa batas waktu tetap)"
    return f"Batas waktu: {wib(started + budget)} (waktu baku {duration_words(budget)})"


def _footer(item_id: str) -> str:
    return f"\n\nKode konten: {item_id} (lihat: humas status {item_id})"


Later = list[Callable[["Transport"], object]]  # deliveries kept for after a record is written (``tell``)


def tell(item: "ItemStep", kind: str, people: Callable[["Roster"], Iterable["Person"]],
         message_for: Callable[["Person"], Message], round_: str = "0", step: "Step | None" = None,
         later: Later | None = None) -> int:
    """Create one notice per person ``people(roster)`` names (once), note who has no contact details, and
    deliver when a transport is given, or, with ``later``, add each delivery to it (the caller records something
    first, then runs them); how many notices this call created. Never fails the step: a roster that does not
    load is logged (the approval page and ``humas status`` say the same)."""
    try:
        roster = load_roster(item.sop)
    except RosterError as exc:
        log.warning("item %s: no %s notice: %s", item.item_id, kind, exc)
        return 0
    created = 0
    for person in people(roster):
        folder = layout.notice_folder(item.item_id, (step or item.step).task_id, kind, round_, person.id)
        findable = not item.rerun_until_sent
        record = outbox.post(item.store, folder, person, message_for(person), roster.sop_id, findable)
        created += record is not None
        if record is not None and not person.contacts:
            item.note("notice_skipped", f"{person.name} tidak diberi tahu ({_KIND_WORDS.get(kind, kind)}): tidak ada "
                                        "email, telegram atau whatsapp di roster; tambahkan salah satunya",
                      person=person.id, kind=kind)
        if later is not None and person.contacts:  # (the record in hand: no GET of the notice to send it)
            later.append(lambda transport, f=folder, r=record: outbox.deliver(item.store, f, roster, transport,
                                                                              notice=r, findable=findable))
        elif item.transport is not None and person.contacts:
            outbox.deliver(item.store, folder, roster, item.transport, notice=record, findable=findable)
    return created


_KIND_WORDS = {"approval_request": "permintaan persetujuan", "work_request": "permintaan pekerjaan",
               "reminder": "pengingat", "missed": "keterlambatan", "escalation": "eskalasi",
               "approved": "keputusan", "revised": "keputusan", "declined": "keputusan",
               "published": "hasil unggah", "publish_failed": "gagal unggah", "media_mismatch": "media tayang berbeda",
               "quota_wait": "menunggu kuota",
               "digest": "ringkasan harian"}


def holders(role: str, *, besides: str | None = None) -> Callable[["Roster"], list["Person"]]:
    """The people holding ``role`` (leaving out ``besides``, e.g. the submitter), from the roster given."""
    return lambda roster: [p for p in roster.holders(role) if p.id != besides]


def one(person_id: str) -> Callable[["Roster"], list["Person"]]:
    """The one person ``person_id`` (nobody if the roster does not list them)."""
    return lambda roster: [p for p in [roster.person(person_id)] if p]


def notify_approval_request(item: "ItemStep", submitter: str, round_: str) -> int:
    """The gate's role holders (never the submitter, who may not decide): the item waits for their decision."""
    title, role = item.title, item.role_name

    def message(person: "Person") -> Message:
        text = (f"Yth. {person.name},\n\nKonten \"{title}\" menunggu keputusan Anda sebagai {role}: langkah "
                f"{item.step.number}, {item.step.activity}.\n{due_words(item.step, item.started)}\n"
                f"Periksa dan putuskan di: {approval_link(item.item_id)}" + _footer(item.item_id))
        return Message(f"Persetujuan diperlukan: {title}", text, "approval_request", item.item_id)

    return tell(item, "approval_request", holders(item.step.actor, besides=submitter), message, round_)


def notify_work_request(item: "ItemStep", what: str, round_: str, due: datetime | None = None) -> int:
    """The step's role holders: ``what`` is needed from them (e.g. a corrected design), by ``due`` if given
    (else by the step's standard time from when it started). For every step that waits for a person's work."""
    title, role = item.title, item.role_name
    when = f"Batas waktu: {wib(due)}" if due else due_words(item.step, item.started)

    def message(person: "Person") -> Message:
        text = (f"Yth. {person.name},\n\nKonten \"{title}\" menunggu pekerjaan Anda sebagai {role}: langkah "
                f"{item.step.number}, {item.step.activity}.\nYang diperlukan: {what}\n{when}" + _footer(item.item_id))
        return Message(f"Pekerjaan diminta: {title}", text, "work_request", item.item_id)

    return tell(item, "work_request", holders(item.step.actor), message, round_)


def notify_reminder(item: "ItemStep", due: datetime, now: datetime | None = None, round_: str = "0") -> int:
    """The step's role holders: most of the standard time has gone and the step is still open (once per
    ``round_``: each wait of the step)."""
    title, left = item.title, due - (now or utcnow())
    when = (f"Sisa waktu {duration_words(left)}, batas waktu {wib(due)}." if left > timedelta(0) else
            f"Batas waktunya, {wib(due)}, sudah lewat {duration_words(-left)}.")

    def message(person: "Person") -> Message:
        text = (f"Yth. {person.name},\n\nPengingat: langkah {item.step.number} ({item.step.activity}) untuk konten "
                f"\"{title}\" belum selesai. {when}"
                + (f"\nHalaman persetujuan: {approval_link(item.item_id)}" if item.step.is_gate else "")
                + _footer(item.item_id))
        return Message(f"Pengingat: {title}", text, "reminder", item.item_id)

    return tell(item, "reminder", holders(item.step.actor), message, round_)


def reminder_due(step: "Step", since: datetime) -> datetime | None:
    """When a step waiting since ``since`` is reminded (``REMINDER_SHARE`` of its standard time); None without one."""
    budget = step_budget(step)
    return since + budget * REMINDER_SHARE if budget is not None else None


def remind_or_escalate(item: "ItemStep", since: datetime, now: datetime | None = None, reminded: bool = False
                       ) -> datetime | None:
    """A step that waits for people, waiting since ``since`` (when this step started, however late the steps
    before it were), measured against its own standard time: at ``REMINDER_SHARE`` of it its role is reminded
    (once per wait; woken late, after a restart or an outage, it still reminds, saying the due time has
    passed); at all of it the miss is recorded and told as a run deadline's is (``escalate_open_step``). Returns when the step should look again for the next of these;
    None when nothing is ahead (or it has no fixed standard time). ``reminded``: the caller (the same wait's
    trigger, earlier) made this wait's reminder already, so at the due time only the miss is made (the reminder
    again would only find its notice and every channel claimed: about eight S3 requests a miss for nothing)."""
    budget, now = step_budget(item.step), now or utcnow()
    if budget is None:
        return None
    remind_at, due = reminder_due(item.step, since), since + budget
    if now < remind_at:
        return remind_at
    if not reminded:
        notify_reminder(item, due, now, since.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%f"))
    if now < due:
        return due
    escalate_open_step(item, since, due)
    return None


def escalate_open_step(item: "ItemStep", since: datetime, due: datetime) -> None:
    """The step has been open past its own standard time: tell its role and their supervisor (once per step per
    item, shared with the run deadlines' misses) and, if that is news, record the miss. Written before the miss
    is recorded and sent after, as ``escalate_late_step`` does."""
    later: Later = []
    if notify_missed(item, due, later=later) or not _missed_told_before(item.store, item.item_id, item.step):
        item.note("sla_missed", f"Langkah {item.step.number} ({item.step.activity}) belum selesai setelah waktu "
                                f"bakunya ({item.step.time.describe()}) sejak dimulai {wib(since)}; batas waktunya "
                                f"{wib(due)}. Penanggung jawab: {item.role_name}",
                  deadline=due.isoformat(), deadline_step=item.step.task_id, role=item.step.actor)
    if item.transport is not None:
        _deliver_missed(item.store, item.sop, item.item_id, item.step, later, item.transport)


def notify_missed(item: "ItemStep", deadline: datetime, now: datetime | None = None, later: Later | None = None
                  ) -> int:
    """A missed step: its role's holders, and the supervising role's holders (escalation); once per step.
    ``later``: as ``tell``'s."""
    title, late = item.title, duration_words(max((now or utcnow()) - deadline, timedelta(0)))
    what = f"langkah {item.step.number} ({item.step.activity}) untuk konten \"{title}\""

    def to_holder(person: "Person") -> Message:
        text = (f"Yth. {person.name},\n\n{what[0].upper()}{what[1:]} terlambat {late}: batas waktunya "
                f"{wib(deadline)}. Mohon segera diselesaikan." + _footer(item.item_id))
        return Message(f"Terlambat: {title}", text, "missed", item.item_id)

    count = tell(item, "missed", holders(item.step.actor), to_holder, later=later)
    return count + _escalate(item, what, late, deadline, later, news=count > 0)


def _escalate(item: "ItemStep", what: str, late: str, deadline: datetime, later: Later | None, news: bool) -> int:
    """The supervising role's notices of the miss; with no supervisor, a note saying so, when the miss is ``news``
    (its role's notices were made by this call) or the role has nobody to tell."""
    try:
        roster = load_roster(item.sop)
    except RosterError:
        return 0  # logged by tell()
    boss = roster.supervisor_of(item.step.actor)
    if boss is None:
        if news or not roster.holders(item.step.actor):  # once, not again at each later deadline of the step
            item.note("notice_skipped", f"Keterlambatan {item.role_name} tidak dieskalasi: roster tidak menyebut "
                                        "atasan peran ini (supervisors)", kind="escalation")
        return 0
    doers = ", ".join(p.name for p in roster.holders(item.step.actor)) or "-"

    def message(person: "Person") -> Message:
        text = (f"Yth. {person.name},\n\nEskalasi: {what} terlambat {late} (batas waktu {wib(deadline)}). "
                f"Penanggung jawab: {item.role_name} ({doers}). Mohon ditindaklanjuti sebagai "
                f"{item.sop.role(boss).name}." + _footer(item.item_id))
        return Message(f"Eskalasi keterlambatan: {item.title}", text, "escalation", item.item_id)

    return tell(item, "escalation", holders(boss), message, later=later)


def notify_decision(item: "ItemStep", decision: str, who: str, comment: str, submitter: str, round_: str) -> int:
    """The submitter: the gate's decision (approve, revise with the comment, decline with the reason)."""
    kind = {"approve": "approved", "revise": "revised"}.get(decision, "declined")
    title = item.title
    said = {"approved": f"disetujui oleh {who}" + (f". Catatan: {comment}" if comment else ""),
            "revised": f"dikembalikan untuk revisi oleh {who}. Yang perlu diubah: {comment}",
            "declined": f"tidak disetujui oleh {who}. Alasan: {comment}"}[kind]

    def message(person: "Person") -> Message:
        text = (f"Yth. {person.name},\n\nKonten \"{title}\" {said} (langkah {item.step.number}: "
                f"{item.step.activity}), {wib(utcnow())}." + _footer(item.item_id))
        return Message(f"Keputusan: {title}", text, kind, item.item_id)

    return tell(item, kind, one(submitter), message, round_)


def notify_published(item: "ItemStep", posts: list[dict[str, str]], submitter: str) -> int:
    """The submitter: the item is published, with the link of every post."""
    links = "\n".join(f"- {p.get('channel', '')}: {p.get('permalink', '')}" for p in posts)

    def message(person: "Person") -> Message:
        text = (f"Yth. {person.name},\n\nKonten \"{item.title}\" sudah diunggah, {wib(utcnow())}.\n"
                f"Tautan postingan:\n{links}" + _footer(item.item_id))
        return Message(f"Sudah diunggah: {item.title}", text, "published", item.item_id)

    return tell(item, "published", one(submitter), message)


# What happens after an upload try failed, by whether it was the step's last automatic try.
AFTER_PUBLISH_FAILED = {
    False: "Langkah unggah dicoba lagi otomatis; kanal yang sudah tayang tidak diunggah dua kali",
    True: "Semua percobaan otomatis sudah dipakai: setelah masalahnya diatasi, admin pipeline menjalankan ulang "
          "langkah unggah (Clear pada tugasnya di Airflow); kanal yang sudah tayang tidak diunggah dua kali",
}


def notify_publish_failed(item: "ItemStep", failures: dict[str, str]) -> int:
    """The upload role: which channels failed, and what to do (nothing is posted twice on a retry). Once when a
    try fails, and once more when the last automatic try has failed too (what a person must do then differs)."""
    failed = "\n".join(f"- {channel}: {why[:300]}" for channel, why in failures.items())

    def message(person: "Person") -> Message:
        text = (f"Yth. {person.name},\n\nKonten \"{item.title}\" gagal diunggah ke sebagian kanal:\n{failed}\n"
                "Yang perlu dilakukan: periksa akun dan token kanal itu, atau tunggu platform pulih. "
                f"{AFTER_PUBLISH_FAILED[item.last_try]}." + _footer(item.item_id))
        return Message(f"Gagal diunggah: {item.title}", text, "publish_failed", item.item_id)

    return tell(item, "publish_failed", holders(item.step.actor), message, "final" if item.last_try else "0")


def notify_media_mismatch(item: "ItemStep", channel_name: str, link: str, what: str) -> int:
    """The upload role: a post shows other media than approved; what differs, where, and what to do."""
    def message(person: "Person") -> Message:
        text = (f"Yth. {person.name},\n\nPostingan konten \"{item.title}\" di {channel_name} menampilkan "
                f"media yang berbeda dari yang disetujui ({what}).\nTautan: {link}\nYang perlu dilakukan: buka "
                "tautan itu dan bandingkan dengan desain yang disetujui; jika salah, hapus postingan itu secara "
                "manual dan hubungi admin pipeline. Tidak ada yang dihapus atau diunggah ulang otomatis, dan kanal "
                "lain tidak diunggah sampai ini diperiksa." + _footer(item.item_id))
        return Message(f"Media berbeda di {channel_name}: {item.title}", text, "media_mismatch", item.item_id)

    return tell(item, "media_mismatch", holders(item.step.actor), message)


def notify_quota_wait(item: "ItemStep", channel_name: str, until: datetime, round_: str) -> int:
    """The upload role: the item waits for a channel's quota and goes out by itself when it frees."""
    def message(person: "Person") -> Message:
        text = (f"Yth. {person.name},\n\nKonten \"{item.title}\" menunggu kuota {channel_name}: batas "
                f"unggahan kanal itu sedang habis. Kuota tersedia lagi sekitar {wib(until)}; unggahan ke "
                f"{channel_name} dicoba lagi otomatis saat itu, tanpa unggahan ganda. Kanal lain tidak ikut menunggu. "
                "Tidak perlu tindakan. Jika konten ini harus tayang lebih cepat, hubungi admin pipeline; jangan "
                "mengunggahnya manual, karena unggahan otomatis tetap berjalan." + _footer(item.item_id))
        return Message(f"Menunggu kuota {channel_name}: {item.title}", text, "quota_wait", item.item_id)

    return tell(item, "quota_wait", holders(item.step.actor), message, round_)


def escalate_late_step(store: "Store", sop: "Sop", item_id: str, step_number: int, deadline: datetime,
                       transport: "Transport | None") -> str | None:
    """A run deadline passed: record the miss on the step the item is held at, and tell its role and their
    supervisor (once per step). The notices are written before the miss is recorded and sent after, so a crash
    at any point leaves no recorded miss nobody hears of: unsent notices are sent by ``send_pending``. Returns
    the miss's message, or None when the item is past that step or finished, or this step's miss is recorded
    already."""
    current = sla.open_step(store, sop, item_id, step_number)
    if current is None:
        return None
    later: Later = []
    told = _at_step(store, sop, item_id, current, None, lambda item: notify_missed(item, deadline, later=later))
    if not told and current.number == step_number and _missed_told_before(store, item_id, current):
        message = None  # this step's miss is recorded already (its own standard time, or this callback rerun)
    else:
        message = sla.record_late_step(store, sop, item_id, step_number, deadline)
    if transport is not None:
        _deliver_missed(store, sop, item_id, current, later, transport)
    return message


def _missed_told_before(store: "Store", item_id: str, step: "Step") -> bool:
    """Whether the step's role was told of its miss already: the miss is recorded already too (one open miss per
    step per item, whichever saw it first: the run's deadline for that step or the step's own standard time).
    With nobody to tell, each of them records it."""
    return bool(outbox.folders(store, layout.notice_kind_prefix(item_id, step.task_id, "missed")))


def _deliver_missed(store: "Store", sop: "Sop", item_id: str, step: "Step", later: Later,
                    transport: "Transport") -> None:
    """Send a miss's notices: those ``later`` holds (written just now, or found written by an earlier try), else
    (no roster, nobody to tell now) whatever of the step's miss notices is in the bucket unsent."""
    for deliver in later:
        deliver(transport)
    if not later:
        _deliver_step_notices(store, sop, item_id, step, ("missed", "escalation"), transport)


def _deliver_step_notices(store: "Store", sop: "Sop", item_id: str, step: "Step", kinds: tuple[str, ...],
                          transport: "Transport") -> None:
    """Send what is unsent of the item's notices of ``kinds`` at ``step``."""
    try:
        roster = load_roster(sop)
    except RosterError:
        return  # logged by tell(); the notices wait for send_pending
    for kind in kinds:
        for folder in outbox.folders(store, layout.notice_kind_prefix(item_id, step.task_id, kind)):
            outbox.deliver(store, folder, roster, transport)


def send_pending(store: "Store", transport: "Transport", older_than: timedelta | None = None) -> int:
    """Send every notice whose sender stopped before claiming all its channels (a crashed step or callback);
    a channel already claimed is never sent again. Run by the dispatcher's watch, every minute or so; how
    many channels this call sent."""
    sops, sent = available_sops(), 0
    for marker in outbox.pending(store, SEND_PENDING_AFTER if older_than is None else older_than):
        sop = sops.get(marker["sop"])
        try:
            roster = load_roster(sop) if sop else None
        except RosterError as exc:
            log.warning("pending notice %s not sent: %s", marker["folder"], exc)
            continue
        if roster is None:
            log.warning("pending notice %s names no known SOP (%r); left for later", marker["folder"], marker["sop"])
            continue
        done = outbox.deliver(store, marker["folder"], roster, transport, notice=marker["notice"])
        sent += sum(1 for state in done.values() if state == "sent")
    return sent


def _at_step(store: "Store", sop: "Sop", item_id: str, step: "Step", transport: "Transport | None",
             act: Callable[["ItemStep"], int]) -> int:
    from humas.steps.base import ItemStep  # the steps import this module

    try:
        return act(ItemStep(store, item_id, sop, step, transport=transport))
    except ItemRefused as exc:  # a brief broken by an edit: the run stops at its next step, which says why
        log.warning("no notice for item %s: %s", item_id, exc)
        return 0
