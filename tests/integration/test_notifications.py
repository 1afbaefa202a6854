"""Notifications end to end below Airflow's scheduler: the core decides who is told what and writes the outbox in
a real S3 server (moto over HTTP); the Airflow notifiers deliver to the platform sandbox's Telegram and WhatsApp
endpoints over HTTP and to its SMTP receiver (aiosmtpd); what arrived is read back from /_sandbox/messages."""
from __future__ import annotations

import io
import json
import shutil
import threading
from collections.abc import Iterator
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
from humas.status import read_events, record_state
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
    assert isinstance(check_design(design), WaitForChange)
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


def test_a_reminder_goes_only_while_the_item_is_still_at_that_step(store, sops, sandbox) -> None:
    _drop(store)
    sop = sops["singkawang"]
    record_state(store, ITEM, "awaiting_approval", step="step_3_decision")
    due = datetime.now(timezone.utc) + timedelta(minutes=3)
    assert notify.remind_open_step(store, sop, ITEM, 2, due, NotifierTransport()) == 0  # step 2 is done
    assert notify.remind_open_step(store, sop, ITEM, 3, due, NotifierTransport()) == 1
    got = received(sandbox, item=ITEM, kind="reminder")
    assert len(got) == 3 and "Sisa waktu 2 menit" in got[0]["text"] and got[0]["to"].startswith(("hendra", "7", "+"))


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


def test_a_claim_left_by_a_crash_is_reported_never_sent_again(store, sops, sandbox) -> None:
    _drop(store)
    sop = sops["singkawang"]
    person = load_roster(sop).person("skw.hendra")
    folder = layout.notice_folder(ITEM, "step_3_decision", "approval_request", "r1", person.id)
    record = outbox.post(store, folder, person, outbox.Message("S", "T", "approval_request", ITEM))
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
    return sop, folder, outbox.post(store, folder, person, outbox.Message("S", "T", "publish_failed", ITEM))


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


def test_the_messages_page_is_readable_html(sandbox, store, sops) -> None:
    _drop(store)
    sop = sops["singkawang"]
    record_state(store, ITEM, "awaiting_approval", step="step_3_decision")
    notify.remind_open_step(store, sop, ITEM, 3, datetime.now(timezone.utc) + timedelta(minutes=3),
                            NotifierTransport())
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
    store.put_json(layout.delivery_key(folder, "telegram"), {"state": "claimed", "at": "then"})  # a crash's trace
    lines = item_lines(store, ITEM, sops)
    shown = "\n".join(lines)
    assert "Menunggu persetujuan" in shown and " WIB" in shown and "riwayat:" in shown
    [at] = [n for n, x in enumerate(lines) if "Persetujuan diperlukan" in x]
    assert lines[at].endswith("-> skw.hendra")
    assert lines[at + 1] == "      email terkirim, telegram belum pasti terkirim, whatsapp terkirim"
    assert all(len(x) <= 100 for x in lines if not x.startswith("  s3://"))


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
    assert "tidak diunggah dua kali" in failed["text"]
