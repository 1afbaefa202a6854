"""Approval flags: decisions signed by the pipeline's approval service, checked by the gate that waits.

Approvers act as themselves through the approval service (the Airflow UI page or ``humas approve``), which
knows who they are from Airflow's sign-in, checks them against the agency's roster and signs the flag with
a key that is never in the bucket. The gate accepts only a flag whose signature is valid and whose every
field matches: this item, this gate, a decision this gate offers, a person holding the gate's role who did
not submit the item, and the digest of exactly what is under review now. Anything else is refused with
the reason, and the wait goes on.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from humas.exceptions import ApprovalFlagError, HumasError, Problem
from humas.jsonio import JsonInputError, load_json_object

if TYPE_CHECKING:
    from humas.roster import Roster
    from humas.sop import Sop, Step

KEY_ENV = "HUMAS_APPROVAL_KEY"
MIN_KEY_CHARS = 32
MAX_FLAG_BYTES = 16 * 1024
MAX_COMMENT_CHARS = 2000
_LABELS = {"approve": "Setujui", "revise": "Kembalikan untuk revisi", "decline": "Tolak"}


@dataclass(frozen=True)
class ApprovalFlag:
    item_id: str
    gate: str            # the gate step's task id, e.g. step_3_decision
    decision: str        # approve | revise | decline
    person: str          # the approver's roster id (their Airflow login)
    role: str            # the SOP role the decision is made in
    comment: str
    review_digest: str   # humas.review.Review.digest of what was shown to the approver
    at: str
    signature: str = ""

    @property
    def approved(self) -> bool:
        return self.decision == "approve"

    def payload(self) -> bytes:
        """The signed bytes: every field but the signature, canonical JSON."""
        body = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "signature"}
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2).encode()


FLAG_FIELDS = tuple(f.name for f in fields(ApprovalFlag))


def signing_key(env: dict[str, str] | None = None) -> bytes:
    """The approval signing key from the environment (Airflow's components and the service share it)."""
    value = (env if env is not None else os.environ).get(KEY_ENV, "")
    if len(value) < MIN_KEY_CHARS:
        raise HumasError(f"{KEY_ENV} is not set or shorter than {MIN_KEY_CHARS} characters: set the same random "
                         "secret for the api-server, scheduler, triggerer and workers (see .env.example)")
    return value.encode()


def _signature(flag: ApprovalFlag, key: bytes) -> str:
    return hmac.new(key, flag.payload(), hashlib.sha256).hexdigest()


def decisions_for(sop: "Sop", step: "Step") -> tuple[str, ...]:
    """What a gate offers: approve and decline, and revise where it has a step to send the run back to."""
    return ("approve", "revise", "decline") if sop.revise_target(step) else ("approve", "decline")


def decision_label(decision: str) -> str:
    return _LABELS.get(decision, decision)


def decider_problems(person_id: str, roster: "Roster", sop: "Sop", step: "Step", submitter: str) -> list[Problem]:
    """Why ``person_id`` may not decide ``step`` of an item ``submitter`` submitted (empty: they may)."""
    role = sop.role(step.actor)
    holders = ", ".join(p.id for p in roster.holders(step.actor) if p.id != submitter) or "(belum ada)"
    person = roster.person(person_id)
    if person is None:
        return [Problem("person", f"{person_id!r} tidak terdaftar di roster SOP {sop.id}",
                        f"minta admin menambahkan Anda ke roster SOP {sop.id}, atau minta {role.name} memutuskan")]
    if person_id == submitter:
        return [Problem("person", f"{person.name} mengajukan item ini sendiri dan tidak boleh menyetujuinya",
                        f"minta {role.name} lain memutuskan: {holders}")]
    if step.actor not in person.roles:
        return [Problem("person", f"{person.name} ({person_id}) bukan {role.name}, yang memutuskan langkah "
                                  f"{step.number}", f"minta salah satu dari: {holders}")]
    return []


def make_flag(item_id: str, step: "Step", decision: str, person: str, review_digest: str, at: str, key: bytes,
              comment: str = "") -> ApprovalFlag:
    """A signed flag (what the approval service writes after checking the decider)."""
    flag = ApprovalFlag(item_id, step.task_id, decision, person, step.actor, comment, review_digest, at)
    return ApprovalFlag(**{**asdict(flag), "signature": _signature(flag, key)})


def parse_flag(data: bytes, key: bytes, *, item_id: str, step: "Step", sop: "Sop", roster: "Roster",
               submitter: str, review_digest: str) -> ApprovalFlag:
    """Accept a flag for ``step`` of ``item_id`` only if it is genuine and current; else raise with every reason."""
    source = f"item {item_id}: tanda keputusan {step.task_id}"
    raw = _load(source, data)
    problems: list[Problem] = []
    missing = [name for name in FLAG_FIELDS if not isinstance(raw.get(name), str)]
    extra = sorted(str(name)[:40] for name in raw if name not in FLAG_FIELDS)
    if missing:
        problems.append(Problem(", ".join(missing), "tidak ada atau bukan teks",
                                "putuskan lewat halaman Persetujuan Humas atau `humas approve`"))
    if extra:
        problems.append(Problem(", ".join(extra), "kolom yang tidak dikenal", "jangan menulis tanda keputusan sendiri"))
    if problems:
        raise ApprovalFlagError(source, problems)
    flag = ApprovalFlag(**{name: raw[name] for name in FLAG_FIELDS})
    if not hmac.compare_digest(flag.signature, _signature(flag, key)):
        raise ApprovalFlagError(source, [Problem("signature", "tanda tangan tidak sah (dipalsukan, diubah, atau "
                                                              "dibuat dengan kunci lain)",
                                                 "putuskan lewat halaman Persetujuan Humas atau `humas approve`")])
    problems += _binding_problems(flag, item_id, step, sop, review_digest)
    problems += decider_problems(flag.person, roster, sop, step, submitter)
    if problems:
        raise ApprovalFlagError(source, problems)
    return flag


def _binding_problems(flag: ApprovalFlag, item_id: str, step: "Step", sop: "Sop", digest: str) -> list[Problem]:
    redo = "buka lagi halaman persetujuan item ini dan putuskan ulang"
    problems = [Problem(name, f"{value!r} bukan {expected}", redo)
                for name, value, expected in (("item_id", flag.item_id, item_id), ("gate", flag.gate, step.task_id),
                                              ("role", flag.role, step.actor))
                if value != expected]
    if flag.decision not in decisions_for(sop, step):
        problems.append(Problem("decision", f"{flag.decision!r} bukan pilihan langkah ini",
                                f"pilih salah satu: {', '.join(decisions_for(sop, step))}"))
    if flag.review_digest != digest:
        problems.append(Problem("review_digest", "keputusan ini untuk versi konten yang lain (brief atau desain "
                                                 "berubah sejak ditinjau)", redo))
    if len(flag.comment) > MAX_COMMENT_CHARS:
        problems.append(Problem("comment", f"lebih dari {MAX_COMMENT_CHARS} karakter", "persingkat catatan"))
    return problems


def _load(source: str, data: bytes) -> dict[str, Any]:
    try:
        return load_json_object(data, source=source, max_bytes=MAX_FLAG_BYTES, max_depth=4,
                                fix="putuskan lewat halaman Persetujuan Humas atau `humas approve`")
    except JsonInputError as exc:
        raise ApprovalFlagError(source, exc.problems) from exc
