"""Notifications end to end below Airflow's scheduler: the core decides who is told what and writes the outbox in
a real S3 server (moto over HTTP); the Airflow notifiers deliver to the platform sandbox's Telegram and WhatsApp
endpoints over HTTP and to its SMTP receiver (aiosmtpd); what arrived is read back from /_sandbox/messages."""
from __future__ import annotations

import io
import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import yaml
from PIL import Image

from claims import deliver_file, submit_brief
from humas import layout, notify, outbox
from humas.approval import make_flag
from humas.roster import load_roster
from humas.status import read_events, read_status, record_state
from humas.steps.base import ItemStep, WaitForChange
from humas.steps.gate import current_review, decide_gate
from humas_airflow.notifiers import NotifierTransport
from humas_dev.net import free_port
from humas_dev.sandbox.config import SandboxConfig
from humas_dev.sandbox.messages import start_smtp
from humas_dev.sandbox.server import make_server, serve_in_thread

pytestmark = pytest.mark.integration

ITEM = "notify-item"
KEY = "k" * 48
TOKEN = "sandbox-token-for-notifications"
BRIEF = {"title": "HUT Kota ke-25", "caption": "Selamat HUT!", "channels": ["facebook"], "sop": "singkawang",
         "assets": ["poster.jpg"], "submitter": "skw.ayu"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    """The platform sandbox with its SMTP receiver, on free ports; yields the HTTP base URL."""
    server = make_server(SandboxConfig(token=TOKEN), port=0)
    serve_in_thread(server)
    smtp_port = free_port()
    smtp = start_smtp(server.app, "127.0.0.1", smtp_port)
    server.smtp_port = smtp_port  # type: ignore[attr-defined]
    yield server
    smtp.stop()
    server.shutdown()


@pytest.fixture(autouse=True)
def connections(sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """The three notification connections pointing at the sandbox, as the embedded stack sets them."""
    monkeypatch.setenv("HUMAS_APPROVAL_KEY", KEY)
    monkeypatch.setenv("HUMAS_UI_URL", "http://humas.example")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(
        {"conn_type": "smtp", "host": "127.0.0.1", "port": sandbox.smtp_port,
         "extra": {"from_email": "humas@localhost", "disable_tls": True, "disable_ssl": True, "retry_limit": 0}}))
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_TELEGRAM", json.dumps(
        {"conn_type": "http", "host": sandbox.base_url, "password": TOKEN}))
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_WHATSAPP", json.dumps(
        {"conn_type": "http", "host": sandbox.base_url, "password": TOKEN,
         "extra": {"phone_number_id": "109000000000001", "api_version": "v21.0"}}))
    requests.post(f"{sandbox.base_url}/_sandbox/messages/reset", timeout=5)


def received(sandbox, **query: str) -> list[dict]:
    return requests.get(f"{sandbox.base_url}/_sandbox/messages", params=query, timeout=5).json()


def poster_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1080, 1350), (0, 82, 147)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _drop(store) -> None:
    store.put_bytes(layout.asset_key(ITEM, "poster.jpg"), poster_bytes(), "image/jpeg")
    submit_brief(store, ITEM, yaml.safe_dump(BRIEF).encode())


def _step(store, sop, number: int, transport=None, earlier=None) -> ItemStep:
    return ItemStep(store, ITEM, sop, sop.steps[number - 1], earlier=(earlier or {}).get,
                    transport=transport if transport is not None else NotifierTransport())


def _at_gate(store, sops) -> tuple[ItemStep, dict]:
    from humas.steps.work import do_work as check_design

    _drop(store)
    sop = sops["singkawang"]
    manifest = check_design(_step(store, sop, 2))
    return _step(store, sop, 3, earlier={"step_2_design": manifest}), manifest


def test_a_gate_that_starts_waiting_asks_its_approvers_once_on_every_channel(store, sops, sandbox) -> None:
    gate, _ = _at_gate(store, sops)
    assert isinstance(decide_gate(gate), WaitForChange)
    assert isinstance(decide_gate(gate), WaitForChange)   # a retry, a restart: nothing new
    got = received(sandbox, item=ITEM, kind="approval_request")
    assert sorted((m["channel"], m["to"]) for m in got) == [
        ("email", "hendra@singkawangkota.example"), ("telegram", "700000003"), ("whatsapp", "+628120000003")]
    text = got[0]["text"]
    assert "HUT Kota ke-25" in text and "Kepala Bidang" in text
    assert "http://humas.example/humas/approvals/notify-item" in text
    assert " WIB (waktu baku 15 menit)" in text and "pukul" in text
    assert all("ayu" not in m["to"] for m in got)  # the submitter may not decide, so is not asked
    assert list(store.list(layout.OUTBOX_PENDING)) == []  # sent: nothing for the sweep


def _revised_at_gate(store, sops, comment: str) -> None:
    """The item waits at the gate, then the Kepala Bidang sends it back with ``comment``."""
    gate, _ = _at_gate(store, sops)
    decide_gate(gate)
    flag = make_flag(ITEM, gate.step, "revise", "skw.hendra", current_review(gate).digest,
                     datetime.now(timezone.utc).isoformat(), KEY.encode(), comment)
    store.put_bytes(layout.approval_key(ITEM, gate.step.task_id), flag.to_json(), "application/json")
    decide_gate(gate)


def test_each_decision_tells_the_submitter_with_the_comment(store, sops, sandbox) -> None:
    _revised_at_gate(store, sops, "Logo terlalu kecil")
    got = received(sandbox, item=ITEM, kind="revised")
    assert {m["to"] for m in got} == {"ayu@singkawangkota.example", "700000001", "+628120000001"}
    assert "Logo terlalu kecil" in got[0]["text"] and "Hendra Wijaya (Kepala Bidang)" in got[0]["text"]


def test_a_design_sent_back_asks_its_designer_once_per_round(store, sops, sandbox) -> None:
    from humas.steps.work import do_work as check_design

    _revised_at_gate(store, sops, "Logo terlalu kecil")
    design = _step(store, sops["singkawang"], 2)
    assert isinstance(check_design(design), WaitForChange) and isinstance(check_design(design), WaitForChange)
    got = received(sandbox, item=ITEM, kind="work_request")
    assert sorted(m["to"] for m in got) == ["+628120000002", "700000002", "rizki@singkawangkota.example"]
    assert "Logo terlalu kecil" in got[0]["text"] and "Perancang Grafis" in got[0]["text"]

    small = io.BytesIO()
    Image.new("RGB", (100, 100), (0, 82, 147)).save(small, "JPEG")
    deliver_file(store, ITEM, "poster.jpg", small.getvalue(), "skw.rizki", "image/jpeg")  # a new round, failing
    assert isinstance(check_design(_step(store, sops["singkawang"], 2)), WaitForChange)  # the next try
    again = received(sandbox, item=ITEM, kind="work_request")
    assert len(again) == 6 and "berkas desain perbaikan (poster.jpg" in again[-1]["text"]


def test_a_missed_step_tells_its_role_and_escalates_exactly_once(store, sops, sandbox) -> None:
    _drop(store)
    sop = sops["singkawang"]
    record_state(store, ITEM, "assets_failed", step="step_2_design")
    deadline = datetime.now(timezone.utc) - timedelta(hours=1, minutes=12)
    for number in (2, 3, 4, 2):  # every later deadline passes too while the design is held up, and a rerun
        notify.escalate_late_step(store, sop, ITEM, number, deadline, NotifierTransport())
    missed, escalated = received(sandbox, item=ITEM, kind="missed"), received(sandbox, item=ITEM, kind="escalation")
    assert {m["to"] for m in missed} == {"rizki@singkawangkota.example", "700000002", "+628120000002"}
    assert len(missed) == 3 and "terlambat 1 jam 12 menit" in missed[0]["text"]
    assert {m["to"] for m in escalated} == {"hendra@singkawangkota.example", "700000003", "+628120000003"}
    assert len(escalated) == 3 and "Rizki Pratama" in escalated[0]["text"]
    # Each later deadline is a miss of its own, recorded on the step that holds it up; the rerun adds none.
    misses = [e for e in read_events(store, ITEM) if e["state"] == "sla_missed"]
    assert sorted(e["details"]["deadline_step"] for e in misses) == ["step_2_design", "step_3_decision",
                                                                     "step_4_upload"]


def _clock(monkeypatch, moment: datetime) -> None:
    """The notifications' clock reads ``moment`` (a woken step looks again then)."""
    monkeypatch.setattr(notify, "utcnow", lambda: moment)


def test_a_gate_after_a_late_step_is_reminded_at_80_percent_of_its_own_time(store, sops, sandbox,
                                                                           monkeypatch) -> None:
    gate, _ = _at_gate(store, sops)
    # The run was accepted 5 hours ago and the design (3 h) ran late: a run-level reminder of this gate (accepted
    # + 3 h + 80% of 15 min) would have gone off while the item was still at the design, and never again.
    gate = replace(gate, accepted=datetime.now(timezone.utc) - timedelta(hours=5))
    wait = decide_gate(gate)
    since = datetime.fromisoformat(read_status(store, ITEM)["step_since"])
    assert isinstance(wait, WaitForChange) and wait.wake_at == since + timedelta(minutes=12)

    _clock(monkeypatch, since + timedelta(minutes=5))          # woken early (a restart): nothing yet
    assert decide_gate(gate).wake_at == since + timedelta(minutes=12) and received(sandbox, kind="reminder") == []
    _clock(monkeypatch, since + timedelta(minutes=12))
    assert decide_gate(gate).wake_at == since + timedelta(minutes=15)   # reminded; next: its own due time
    assert decide_gate(gate).wake_at == since + timedelta(minutes=15)   # a retry, or woken by another change
    got = received(sandbox, item=ITEM, kind="reminder")
    assert sorted(m["to"] for m in got) == ["+628120000003", "700000003", "hendra@singkawangkota.example"]
    assert "Sisa waktu 3 menit" in got[0]["text"] and "http://humas.example/humas/approvals/notify-item" in got[0]["text"]


def test_a_gate_woken_only_after_its_due_time_reminds_saying_so_and_tells_the_miss_once(store, sops, sandbox,
                                                                                        monkeypatch) -> None:
    gate, _ = _at_gate(store, sops)
    decide_gate(gate)
    since = datetime.fromisoformat(read_status(store, ITEM)["step_since"])
    _clock(monkeypatch, since + timedelta(minutes=20))          # the triggerer was down when it should have woken
    assert decide_gate(gate).wake_at is None and decide_gate(gate).wake_at is None
    reminded, missed = received(sandbox, item=ITEM, kind="reminder"), received(sandbox, item=ITEM, kind="missed")
    assert len(reminded) == 3 and "sudah lewat 5 menit" in reminded[0]["text"] and "Sisa" not in reminded[0]["text"]
    assert len(missed) == 3 and "terlambat 5 menit" in missed[0]["text"]
    misses = [e for e in read_events(store, ITEM) if e["state"] == "sla_missed"]
    assert len(misses) == 1 and "Kepala Bidang" in misses[0]["message"] and "15 menit" in misses[0]["message"]


def test_a_work_step_is_reminded_then_escalated_from_when_it_started_waiting(store, sops, sandbox,
                                                                              monkeypatch) -> None:
    from humas.steps.work import do_work

    _revised_at_gate(store, sops, "Logo terlalu kecil")        # the design waits for a corrected file (3 h)
    design = _step(store, sops["singkawang"], 2)
    wait = do_work(design)
    since = datetime.fromisoformat(store.get_json(layout.work_key(ITEM, "step_2_design"))["since"])
    assert wait.wake_at == since + timedelta(hours=2, minutes=24)
    _clock(monkeypatch, since + timedelta(hours=2, minutes=30))
    assert do_work(design).wake_at == do_work(design).wake_at == since + timedelta(hours=3)
    got = received(sandbox, item=ITEM, kind="reminder")
    assert sorted(m["to"] for m in got) == ["+628120000002", "700000002", "rizki@singkawangkota.example"]
    assert "Sisa waktu 30 menit" in got[0]["text"]

    _clock(monkeypatch, since + timedelta(hours=3, minutes=1))   # still nothing delivered: late on its own time
    assert do_work(design).wake_at is None and do_work(design).wake_at is None
    assert len(received(sandbox, item=ITEM, kind="missed")) == 3
    [boss] = received(sandbox, item=ITEM, kind="escalation", channel="email")
    assert boss["to"] == "hendra@singkawangkota.example" and "Rizki Pratama" in boss["text"]
    assert len(received(sandbox, item=ITEM, kind="reminder")) == 3


def _wait_in_triggerer(store, wait: WaitForChange, sop_id: str, step_number: int, then) -> dict:
    """Run the wait's trigger as the step defers it (steps.SopStepMixin) until it yields; ``then()`` runs once
    the trigger has had a second to do what it does on its own."""
    import asyncio

    from humas_airflow.triggers import BucketChangeTrigger

    remind = {"item_id": ITEM, "sop_id": sop_id, "step_number": step_number, "since": wait.since.isoformat()}
    trigger = BucketChangeTrigger(wait.prefix, wait.seen, "humas_bucket", 0.05, wait.wake_at.isoformat(), remind)

    async def run() -> dict:
        events = asyncio.ensure_future(anext(trigger.run()))
        done, _ = await asyncio.wait([events], timeout=1.5)
        assert not done, f"the trigger woke the step: {events.result().payload}"
        await asyncio.to_thread(then)
        return (await asyncio.wait_for(events, 20)).payload

    return asyncio.run(run())


def test_a_waiting_gate_is_reminded_and_escalated_by_its_trigger_without_waking_the_step(store, sops, sandbox,
                                                                                        monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_BUCKET", json.dumps(
        {"conn_type": "aws", "login": "testing", "password": "testing",
         "extra": {"endpoint_url": store.client.meta.endpoint_url, "region_name": "us-east-1",
                   "config_kwargs": {"s3": {"addressing_style": "path"}},
                   "service_config": {"s3": {"bucket_name": store.bucket}}}}))
    gate, _ = _at_gate(store, sops)
    wait = decide_gate(gate)
    # The wait began 13 minutes ago: its 80% reminder is due, its miss (15 minutes) two minutes from now.
    wait = replace(wait, since=wait.since - timedelta(minutes=13), wake_at=wait.since - timedelta(minutes=1))
    flag = layout.approval_key(ITEM, gate.step.task_id)
    assert _wait_in_triggerer(store, wait, "singkawang", 3, lambda: store.put_bytes(flag, b"{}"))["status"] == "changed"
    assert len(received(sandbox, item=ITEM, kind="reminder")) == 3 and received(sandbox, kind="missed") == []

    _clock(monkeypatch, wait.since + timedelta(minutes=20))   # woken again past its own time: the miss, once
    store.delete(flag)
    for _ in range(2):  # a restarted triggerer runs the same trigger again: nothing is sent twice
        _wait_in_triggerer(store, wait, "singkawang", 3, lambda: store.put_bytes(flag, b"{}"))
        store.delete(flag)
    assert len(received(sandbox, item=ITEM, kind="reminder")) == 3
    assert len(received(sandbox, item=ITEM, kind="missed")) == 3
    assert len([e for e in read_events(store, ITEM) if e["state"] == "sla_missed"]) == 1
    # The run's deadline for this gate passes too: the same miss, already recorded and told.
    assert notify.escalate_late_step(store, sops["singkawang"], ITEM, 3, wait.since + timedelta(minutes=15),
                                     NotifierTransport()) is None
    assert len([e for e in read_events(store, ITEM) if e["state"] == "sla_missed"]) == 1
    assert len(received(sandbox, item=ITEM, kind="missed")) == 3
    # The Kepala Bidang has no supervisor in the roster: said once, not at each look or deadline
    unescalated = [e for e in read_events(store, ITEM) if e["state"] == "notice_skipped"]
    assert len(unescalated) == 1 and "tidak dieskalasi" in unescalated[0]["message"]


def test_a_trigger_that_reminded_sends_only_the_miss_at_the_due_time_and_a_restarted_one_both_once(
        store, sops, sandbox, monkeypatch) -> None:
    from humas_airflow.triggers import BucketChangeTrigger

    gate, _ = _at_gate(store, sops)
    wait = decide_gate(gate)
    remind = {"item_id": ITEM, "sop_id": "singkawang", "step_number": 3, "since": wait.since.isoformat(),
              "title": "HUT Kota ke-25"}   # as the step defers it: the title it read
    trigger = BucketChangeTrigger(wait.prefix, wait.seen, "humas_bucket", 0.05, wait.wake_at.isoformat(), remind)
    touched: list[str] = []   # the keys under the reminder's notices each bucket request names
    for name in ("put_json", "put_json_if_absent", "get_json", "get_bytes", "delete"):
        def recording(key: str, *args, _call=getattr(store, name), _name=name, **kwargs):
            touched.append(f"bytes:{key}" if _name == "get_bytes" else key)  # (get_json reads through get_bytes)
            return _call(key, *args, **kwargs)
        monkeypatch.setattr(store, name, recording)
    reminder = layout.notice_kind_prefix(ITEM, "step_3_decision", "reminder")

    _clock(monkeypatch, wait.since + timedelta(minutes=12))
    assert trigger._remind_or_escalate(lambda: store, False) == ((wait.since + timedelta(minutes=15)).isoformat(), True)
    assert any(k.startswith(reminder) for k in touched)
    touched.clear()
    _clock(monkeypatch, wait.since + timedelta(minutes=15, seconds=1))
    assert trigger._remind_or_escalate(lambda: store, True) == (None, True)
    assert not any(k.startswith(reminder) for k in touched)            # the miss only
    assert trigger._remind_or_escalate(lambda: store, False) == (None, True)   # a restarted triggerer: both again
    assert len(received(sandbox, item=ITEM, kind="reminder")) == 3          # ... each still once
    assert len(received(sandbox, item=ITEM, kind="missed")) == 3
    assert "HUT Kota ke-25" in received(sandbox, item=ITEM, kind="missed")[0]["subject"]
    assert f"bytes:{layout.brief_key(ITEM)}" not in touched   # the title came with the trigger: no brief read
    assert touched.count(layout.status_key(ITEM)) == 1  # the miss's two notes (the miss, nobody to escalate to)
    assert len([e for e in read_events(store, ITEM) if e["state"] == "sla_missed"]) == 1


def test_a_trigger_that_died_after_writing_its_reminder_sends_it_once_when_run_again(store, sops, sandbox,
                                                                                      monkeypatch) -> None:
    from humas_airflow.triggers import BucketChangeTrigger

    gate, _ = _at_gate(store, sops)
    wait = decide_gate(gate)
    remind = {"item_id": ITEM, "sop_id": "singkawang", "step_number": 3, "since": wait.since.isoformat()}
    trigger = BucketChangeTrigger(wait.prefix, wait.seen, "humas_bucket", 0.05, wait.wake_at.isoformat(), remind)
    _clock(monkeypatch, wait.since + timedelta(minutes=12))
    deliver = outbox.deliver

    def killed(*args, **kwargs):
        raise SystemExit("the triggerer was killed")

    monkeypatch.setattr(outbox, "deliver", killed)
    with pytest.raises(SystemExit):
        trigger._remind_or_escalate(lambda: store, False)
    assert len(outbox.notices(store, layout.notice_kind_prefix(ITEM, "step_3_decision", "reminder"))) == 1
    assert list(store.list(layout.OUTBOX_PENDING)) == []   # no marker: the trigger itself finishes its notices
    assert received(sandbox, item=ITEM, kind="reminder") == []
    monkeypatch.setattr(outbox, "deliver", deliver)
    for _ in range(2):  # Airflow runs the trigger again (another triggerer, or this one restarted): once
        assert trigger._remind_or_escalate(lambda: store, False) == (
            (wait.since + timedelta(minutes=15)).isoformat(), True)
    assert len(received(sandbox, item=ITEM, kind="reminder")) == 3
    assert outbox.undelivered(store, layout.notices_prefix(ITEM)) == []


def test_a_person_without_contacts_is_skipped_with_a_note(store, sops, sandbox, tmp_path, monkeypatch) -> None:
    include = tmp_path / "include"
    shutil.copytree(REPO / "include", include)
    roster = include / "rosters" / "singkawang.yaml"
    roster.write_text(roster.read_text().replace(
        '{id: skw.hendra, name: "Hendra Wijaya", roles: [kepala_bidang], email: "hendra@singkawangkota.example", '
        'telegram: "700000003", whatsapp: "+628120000003"}', '{id: skw.hendra, name: "Hendra Wijaya", roles: [kepala_bidang]}'))
    monkeypatch.setenv("HUMAS_INCLUDE_DIR", str(include))
    gate, _ = _at_gate(store, sops)
    decide_gate(gate)
    decide_gate(gate)
    assert received(sandbox, item=ITEM, kind="approval_request") == []
    skipped = [e for e in read_events(store, ITEM) if e["state"] == "notice_skipped"]
    assert len(skipped) == 1 and "Hendra Wijaya tidak diberi tahu" in skipped[0]["message"]
    assert list(store.list(layout.OUTBOX_PENDING)) == []  # nothing will ever be sent: nothing left to sweep


def test_a_claim_left_by_a_crash_is_reported_never_sent_again(store, sops, sandbox) -> None:
    _drop(store)
    sop = sops["singkawang"]
    person = load_roster(sop).person("skw.hendra")
    folder = layout.notice_folder(ITEM, "step_3_decision", "approval_request", "r1", person.id)
    record = outbox.post(store, folder, person, outbox.Message("S", "T", "approval_request", ITEM), sop.id)
    store.put_json(layout.delivery_key(folder, "telegram"), {"state": "claimed", "at": "then"})  # crashed here
    done = outbox.deliver(store, folder, load_roster(sop), NotifierTransport(), notice=record)
    assert done == {"email": "sent", "whatsapp": "sent"}
    assert [m["channel"] for m in received(sandbox, item=ITEM)] in (["email", "whatsapp"], ["whatsapp", "email"])
    [pending] = outbox.undelivered(store, layout.notices_prefix(ITEM))
    assert pending["deliveries"] == {"email": "sent", "telegram": "claimed", "whatsapp": "sent"}


def _upload_notice(store, sops) -> tuple[object, str, dict]:
    """A publish-failure notice to the upload role (Sari), not delivered yet: (SOP, its folder, its record)."""
    _drop(store)
    sop = sops["singkawang"]
    person = load_roster(sop).person("skw.sari")
    folder = layout.notice_folder(ITEM, "step_4_upload", "publish_failed", "0", person.id)
    return sop, folder, outbox.post(store, folder, person, outbox.Message("S", "T", "publish_failed", ITEM),
                                      sop.id)


def test_senders_racing_for_one_notice_send_it_once(store, sops, sandbox) -> None:
    sop, folder, record = _upload_notice(store, sops)
    threads = [threading.Thread(target=outbox.deliver, args=(store, folder, load_roster(sop), NotifierTransport()),
                                kwargs={"notice": record}) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(m["channel"] for m in received(sandbox, item=ITEM)) == ["email", "telegram", "whatsapp"]


def test_a_refused_delivery_is_recorded_as_failed_without_the_address(store, sops, sandbox, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_TELEGRAM", json.dumps(
        {"conn_type": "http", "host": sandbox.base_url, "password": "wrong-token"}))
    sop, folder, record = _upload_notice(store, sops)
    assert outbox.deliver(store, folder, load_roster(sop), NotifierTransport(), notice=record)["telegram"] == "failed"
    failed = store.get_json(layout.delivery_key(folder, "telegram"))
    assert failed["state"] == "failed" and "700000004" not in failed["error"] and "wrong-token" not in failed["error"]
    assert outbox.deliver(store, folder, load_roster(sop), NotifierTransport()) == {}  # not re-sent


def test_a_chat_past_its_rate_limit_gets_the_notice_later_exactly_once(store, sops, sandbox, monkeypatch) -> None:
    from humas_airflow import notifiers
    from humas_dev.sandbox.messages import ChatLimit

    # Telegram and WhatsApp take one message per chat an hour here (the real limits: seconds)
    monkeypatch.setattr(sandbox.app, "config", replace(sandbox.app.config, chat_limit=(1, 3600)))
    monkeypatch.setattr(sandbox.app, "chat_limit", ChatLimit())
    monkeypatch.setattr(notifiers, "_cooling", {})
    gate, _ = _at_gate(store, sops)
    wait = decide_gate(gate)   # the approval request: the Kepala Bidang's first message on each chat
    assert len(received(sandbox, item=ITEM, kind="approval_request")) == 3
    notify.notify_reminder(gate, wait.since + timedelta(minutes=15))   # a second message to the same chats
    assert [m["channel"] for m in received(sandbox, item=ITEM, kind="reminder")] == ["email"]
    reminders = layout.notice_kind_prefix(ITEM, "step_3_decision", "reminder")
    [notice] = outbox.undelivered(store, reminders)
    assert notice["deliveries"] == {"email": "sent", "telegram": "pending", "whatsapp": "pending"}
    asked: list[str] = []

    class Counting(NotifierTransport):
        def send(self, channel: str, address: str, message: outbox.Message) -> None:
            asked.append(channel)
            super().send(channel, address, message)

    assert notify.send_pending(store, Counting(), timedelta(0)) == 0  # the chats' hour is not over: not asked
    assert asked == [] and len(list(store.list(layout.OUTBOX_PENDING))) == 1
    # an hour on, the chats take messages again: the sweep sends the reminder on both, once
    later = notify.utcnow() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(outbox, "utcnow", lambda: later)
    monkeypatch.setattr(sandbox.app, "chat_limit", ChatLimit())
    monkeypatch.setattr(notifiers, "_cooling", {})
    assert notify.send_pending(store, NotifierTransport(), timedelta(0)) == 2
    assert notify.send_pending(store, NotifierTransport(), timedelta(0)) == 0
    assert sorted(m["channel"] for m in received(sandbox, item=ITEM, kind="reminder")) == ["email", "telegram",
                                                                                          "whatsapp"]
    assert outbox.undelivered(store, reminders) == [] and list(store.list(layout.OUTBOX_PENDING)) == []


def test_a_chat_that_refused_is_not_asked_again_before_its_wait_is_over(sandbox, monkeypatch) -> None:
    from humas_airflow import notifiers
    from humas_dev.sandbox.messages import ChatLimit

    monkeypatch.setattr(sandbox.app, "config", replace(sandbox.app.config, chat_limit=(1, 3600)))
    monkeypatch.setattr(sandbox.app, "chat_limit", ChatLimit())
    monkeypatch.setattr(notifiers, "_cooling", {})
    message, transport = outbox.Message("Uji", "Teks", "reminder", ITEM), NotifierTransport()
    transport.send("telegram", "5550001", message)
    with pytest.raises(outbox.NotSent) as refused:
        transport.send("telegram", "5550001", message)
    assert 3590 <= refused.value.retry_after <= 3600  # Telegram's retry_after
    with pytest.raises(outbox.NotSent):
        transport.send("telegram", "5550001", message)   # not asked: the sandbox counted no third request
    assert len(received(sandbox, item=ITEM)) == 1 and len(sandbox.app.chat_limit.sent[("telegram", "5550001")]) == 1
    transport.send("telegram", "5550002", message)   # another chat is not held back
    transport.send("whatsapp", "+6281100000001", message)
    with pytest.raises(outbox.NotSent) as refused:  # WhatsApp's pair rate (#131056) says no time: a few seconds
        transport.send("whatsapp", "+6281100000001", message)
    assert refused.value.retry_after == notifiers.CHAT_RETRY_SECONDS
    # the sweep's transport waits out a short wait and sends: a backlog to one chat drains at the chat's pace
    monkeypatch.setattr(sandbox.app, "config", replace(sandbox.app.config, chat_limit=None))
    notifiers._cooling[("telegram", "5550002")] = time.monotonic() + 0.5
    with pytest.raises(outbox.NotSent):
        transport.send("telegram", "5550002", message)     # the pipeline's own sends never wait
    NotifierTransport(wait_up_to=5).send("telegram", "5550002", message)
    assert len(received(sandbox, item=ITEM, to="5550002")) == 2


def test_the_messages_page_is_readable_html(sandbox, store, sops) -> None:
    _drop(store)
    sop = sops["singkawang"]
    notify.notify_reminder(_step(store, sop, 3), datetime.now(timezone.utc) + timedelta(minutes=3))
    page = requests.get(f"{sandbox.base_url}/_sandbox/messages/page", timeout=5)
    assert page.headers["Content-Type"].startswith("text/html") and "Pengingat: HUT Kota ke-25" in page.text


def test_the_daily_digest_tells_the_supervisors_what_waits_on_whom_once_a_day(store, sops, sandbox) -> None:
    from humas.digest import send_daily_digest

    _drop(store)
    sop = sops["singkawang"]
    store.put_json(layout.dispatch_key("started", ITEM), {"item_id": ITEM, "dag_id": sop.dag_id})
    record_state(store, ITEM, "awaiting_approval", step="step_3_decision",
                 at=datetime.now(timezone.utc) - timedelta(hours=2))
    morning = datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc)  # 07:00 WIB
    assert send_daily_digest(store, sop, morning, datetime.now(timezone.utc), NotifierTransport()) == 1
    assert send_daily_digest(store, sop, morning + timedelta(hours=3), datetime.now(timezone.utc),
                             NotifierTransport()) == 0  # a rerun the same day
    got = received(sandbox, kind="digest")
    assert sorted(m["to"] for m in got) == ["+628120000003", "700000003", "hendra@singkawangkota.example"]
    assert "1 konten berjalan, 1 terlambat" in got[0]["subject"]
    assert f"- {ITEM}: Menunggu persetujuan; langkah 3" in got[0]["text"] and "terlambat 1 jam 45 menit" in got[0]["text"]


def test_humas_status_lists_the_notifications_and_what_may_not_have_gone_out(store, sops, sandbox) -> None:
    from humas.itemview import item_lines

    gate, _ = _at_gate(store, sops)
    decide_gate(gate)
    folder = layout.notice_folder(ITEM, "step_3_decision", "approval_request", current_review(gate).digest[:16],
                                  "skw.hendra")
    # as a crash leaves it: telegram claimed by a try that died after the send, email and whatsapp sent by the next
    store.delete(layout.sent_key(folder, ["email", "telegram", "whatsapp"]))
    store.put_json(layout.sent_key(folder, ["email", "whatsapp"]), {"state": "sent", "at": "then"})
    lines = item_lines(store, ITEM, sops)
    shown = "\n".join(lines)
    assert "Menunggu persetujuan" in shown and " WIB" in shown and "riwayat:" in shown
    [at] = [n for n, x in enumerate(lines) if "Persetujuan diperlukan" in x]
    assert lines[at].endswith("-> skw.hendra")
    assert lines[at + 1] == "      email terkirim, telegram belum pasti terkirim, whatsapp terkirim"
    assert all(len(x) <= 100 for x in lines)


def test_an_unreachable_receiver_leaves_no_token_in_the_bucket(store, sops, sandbox, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_TELEGRAM", json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{free_port()}", "password": "secret-bot-token"}))
    sop, folder, record = _upload_notice(store, sops)
    assert outbox.deliver(store, folder, load_roster(sop), NotifierTransport(), notice=record)["telegram"] == "failed"
    failed = store.get_json(layout.delivery_key(folder, "telegram"))
    assert "unreachable" in failed["error"] and "secret-bot-token" not in failed["error"]


def test_a_decline_tells_the_submitter_the_reason_and_a_publish_failure_tells_the_upload_role(store, sops,
                                                                                            sandbox) -> None:
    _drop(store)
    sop = sops["singkawang"]
    gate, upload = _step(store, sop, 3), _step(store, sop, 4)
    notify.notify_decision(gate, "decline", "Hendra Wijaya (Kepala Bidang)", "Bukan kewenangan dinas", "skw.ayu", "r1")
    notify.notify_publish_failed(upload, {"instagram": "(#4) Application request limit reached"})
    [declined] = received(sandbox, item=ITEM, kind="declined", channel="email")
    assert declined["to"] == "ayu@singkawangkota.example" and "Alasan: Bukan kewenangan dinas" in declined["text"]
    [failed] = received(sandbox, item=ITEM, kind="publish_failed", channel="email")
    assert failed["to"] == "sari@singkawangkota.example" and "instagram: (#4)" in failed["text"]
    assert "tidak diunggah dua kali" in failed["text"] and "dicoba lagi otomatis" in failed["text"]
    notify.notify_publish_failed(upload, {"instagram": "HTTP 500"})   # a later try: not news
    last = replace(upload, last_try=True)
    for _ in range(2):   # the last try fails: what to do now, once
        notify.notify_publish_failed(last, {"instagram": "HTTP 500"})
    [first, final] = received(sandbox, item=ITEM, kind="publish_failed", channel="email")
    assert "Semua percobaan otomatis sudah dipakai" in final["text"] and "Clear" in final["text"]
    assert "Semua percobaan" not in first["text"]


class Crash(BaseException):
    """A process killed at this point (not an error the code could catch and carry on from)."""


def _crash(*args, **kwargs) -> None:
    raise Crash()


def _sent(sandbox, **query: str) -> list[tuple[str, str]]:
    return sorted((m["kind"], m["to"]) for m in received(sandbox, item=ITEM, **query))


def test_a_deadline_callback_that_dies_after_recording_the_miss_leaves_its_notices_to_be_sent(
        store, sops, sandbox, monkeypatch) -> None:
    _drop(store)
    sop = sops["singkawang"]
    record_state(store, ITEM, "assets_failed", step="step_2_design")
    deadline = datetime.now(timezone.utc) - timedelta(minutes=30)
    with monkeypatch.context() as patched, pytest.raises(Crash):
        patched.setattr(outbox, "deliver", _crash)   # dies once the miss is recorded, before anyone is told
        notify.escalate_late_step(store, sop, ITEM, 2, deadline, NotifierTransport())
    assert [e["step"] for e in read_events(store, ITEM) if e["state"] == "sla_missed"] == ["step_2_design"]
    assert received(sandbox, item=ITEM) == []        # Airflow does not call the callback again

    assert notify.send_pending(store, NotifierTransport()) == 0        # the sender may still be at it
    assert notify.send_pending(store, NotifierTransport(), older_than=timedelta(0)) == 6
    assert notify.send_pending(store, NotifierTransport(), older_than=timedelta(0)) == 0
    notify.escalate_late_step(store, sop, ITEM, 3, deadline, NotifierTransport())  # a later deadline, same step
    got = _sent(sandbox)
    assert len(got) == 6 and {kind for kind, _ in got} == {"missed", "escalation"}
    assert "terlambat 30 menit" in received(sandbox, item=ITEM, kind="missed")[0]["text"]


def test_a_crash_midway_through_a_delivery_leaves_its_sends_maybe_sent_and_the_rest_goes_once(store, sops,
                                                                                                sandbox) -> None:
    class DiesAfterTwo(NotifierTransport):
        sends = 0

        def send(self, channel: str, address: str, message: outbox.Message) -> None:
            super().send(channel, address, message)
            self.sends += 1
            if self.sends == 2:
                raise Crash()  # the process dies after telegram went out, before anything is recorded as sent

    sop, folder, record = _upload_notice(store, sops)
    with pytest.raises(Crash):
        outbox.deliver(store, folder, load_roster(sop), DiesAfterTwo(), notice=record)
    [left] = outbox.undelivered(store, layout.notices_prefix(ITEM))
    assert left["deliveries"] == {"email": "claimed", "telegram": "claimed", "whatsapp": "pending"}
    assert outbox.deliver(store, folder, load_roster(sop), NotifierTransport()) == {"whatsapp": "sent"}
    assert sorted(m["channel"] for m in received(sandbox, item=ITEM)) == ["email", "telegram", "whatsapp"]
    [left] = outbox.undelivered(store, layout.notices_prefix(ITEM))   # shown as "belum pasti terkirim", not re-sent
    assert left["deliveries"] == {"email": "claimed", "telegram": "claimed", "whatsapp": "sent"}
    assert list(store.list(layout.OUTBOX_PENDING)) == []


def test_a_miss_whose_notices_a_dead_callback_wrote_is_told_once_by_the_next(store, sops, sandbox,
                                                                            monkeypatch) -> None:
    from humas import sla

    _drop(store)
    sop = sops["singkawang"]
    record_state(store, ITEM, "assets_failed", step="step_2_design")
    deadline = datetime.now(timezone.utc) - timedelta(minutes=30)
    with monkeypatch.context() as patched, pytest.raises(Crash):
        patched.setattr(sla, "record_late_step", _crash)   # notices written, then the callback dies
        notify.escalate_late_step(store, sop, ITEM, 2, deadline, NotifierTransport())
    assert received(sandbox, item=ITEM) == []
    notify.escalate_late_step(store, sop, ITEM, 2, deadline, NotifierTransport())  # a rerun: sends what is written
    notify.escalate_late_step(store, sop, ITEM, 2, deadline, NotifierTransport())
    got = _sent(sandbox)
    assert len(got) == len(set(got)) == 6 and {kind for kind, _ in got} == {"missed", "escalation"}
    assert list(store.list(layout.OUTBOX_PENDING)) == []


def test_a_deadline_callback_that_dies_before_writing_the_notices_records_no_miss(store, sops, sandbox,
                                                                                  monkeypatch) -> None:
    _drop(store)
    record_state(store, ITEM, "assets_failed", step="step_2_design")
    monkeypatch.setattr(outbox, "post", _crash)
    with pytest.raises(Crash):
        notify.escalate_late_step(store, sops["singkawang"], ITEM, 2, datetime.now(timezone.utc),
                                  NotifierTransport())
    assert [e for e in read_events(store, ITEM) if e["state"] == "sla_missed"] == []


def test_notices_of_a_step_whose_every_try_crashed_before_sending_are_sent_once_by_the_sweep(
        store, sops, sandbox, monkeypatch) -> None:
    gate, _ = _at_gate(store, sops)
    with monkeypatch.context() as patched:
        patched.setattr(outbox, "deliver", _crash)
        for _ in range(3):  # every try of the gate dies after writing its request, before claiming a channel
            with pytest.raises(Crash):
                decide_gate(gate)
    [notice] = outbox.notices(store, layout.notices_prefix(ITEM))
    assert set(notice["deliveries"].values()) == {"pending"} and received(sandbox, item=ITEM) == []
    folder = notice["folder"]
    store.put_json(layout.delivery_key(folder, "telegram"), {"state": "claimed", "at": "then"})  # a sender died

    assert notify.send_pending(store, NotifierTransport(), older_than=timedelta(0)) == 2
    assert notify.send_pending(store, NotifierTransport(), older_than=timedelta(0)) == 0
    assert isinstance(decide_gate(gate), WaitForChange)    # the step running again later sends nothing either
    assert _sent(sandbox) == [("approval_request", "+628120000003"), ("approval_request", "hendra@singkawangkota.example")]
    assert list(store.list(layout.OUTBOX_PENDING)) == []   # nothing left for the next sweep to look at


def test_a_pending_marker_whose_notice_was_never_written_is_dropped_in_time(store, sops, sandbox) -> None:
    folder = layout.notice_folder(ITEM, "step_3_decision", "approval_request", "r1", "skw.hendra")
    store.put_json(layout.outbox_pending_key(folder), {"folder": folder, "sop": "singkawang"})  # then a crash
    assert outbox.pending(store, timedelta(0)) == []
    assert len(list(store.list(layout.OUTBOX_PENDING))) == 1          # the poster may still be writing it
    assert outbox.pending(store, timedelta(0), now=datetime.now(timezone.utc) + outbox.ORPHAN_AGE) == []
    assert list(store.list(layout.OUTBOX_PENDING)) == []


def test_a_notice_to_someone_without_contacts_leaves_nothing_to_sweep(store, sops) -> None:
    from humas.roster import Person

    folder = layout.digest_folder("singkawang", "2026-11-30", "skw.tamu")
    assert outbox.post(store, folder, Person("skw.tamu", "Tamu", ("kepala_bidang",)), outbox.Message("S", "T", "digest"),
                       "singkawang")
    assert list(store.list(layout.OUTBOX_PENDING)) == []


def test_the_dispatchers_watch_sends_what_a_crashed_sender_left(store, sops, sandbox, s3_server,
                                                                 monkeypatch) -> None:
    import asyncio

    from humas_airflow import triggers

    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_BUCKET", json.dumps(
        {"conn_type": "aws", "login": "testing", "password": "testing",
         "extra": {"endpoint_url": s3_server, "region_name": "us-east-1",
                   "config_kwargs": {"s3": {"addressing_style": "path"}},
                   "service_config": {"s3": {"bucket_name": store.bucket}}}}))
    monkeypatch.setattr(triggers, "OUTBOX_SWEEP_INTERVAL", 0.2)
    monkeypatch.setattr(notify, "SEND_PENDING_AFTER", timedelta(0))
    sop = sops["singkawang"]
    folder = layout.notice_folder(ITEM, "step_4_upload", "publish_failed", "0", "skw.sari")
    outbox.post(store, folder, load_roster(sop).person("skw.sari"), outbox.Message("S", "T", "publish_failed", ITEM),
                sop.id)                                  # written, then its sender died (the inbox is empty)
    watch = triggers.InboxDispatchTrigger("humas_bucket", "humas_airflow_api", 0.1, max_wait=3.0)

    async def watch_once() -> dict:
        async for event in watch.run():
            return event.payload
        raise AssertionError("no event")

    event = asyncio.run(watch_once())
    assert event["status"] == "idle", event
    assert _sent(sandbox) == [("publish_failed", "+628120000004"), ("publish_failed", "700000004"),
                              ("publish_failed", "sari@singkawangkota.example")]


def test_an_email_carries_the_text_as_plain_text_beside_the_html(store, sops, sandbox) -> None:
    _drop(store)
    gate = _step(store, sops["singkawang"], 3)
    notify.notify_decision(gate, "revise", "Hendra Wijaya (Kepala Bidang)", "Logo <kiri> & warna \"biru\"",
                           "skw.ayu", "r1")
    [mail] = received(sandbox, item=ITEM, kind="revised", channel="email")
    [notice] = outbox.notices(store, layout.notices_prefix(ITEM))
    assert mail["parts"] == "multipart/alternative: text/plain, text/html"   # plain first: the HTML is preferred
    assert mail["text"] == notice["text"] and 'Logo <kiri> & warna "biru"' in mail["text"]
