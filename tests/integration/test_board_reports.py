"""The inbox and board rows, the approver's scope, and the SOP's records as reports, over a real S3 server:
a month built with known times gives known figures, in the stored report and in the XLSX cells."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from openpyxl import load_workbook

from humas import layout
from humas.approval_service import in_scope, pending_for
from humas.board import ItemIndex, agencies_of, card_of, inbox, read_record, roster_lookup
from humas.exceptions import ApprovalRefused
from humas.reports import item_report, item_reports, monthly_report, write_item_report, write_monthly_report
from humas.status import record_state
from humas.timetext import WIB

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=WIB)


def _brief(store, item_id: str, sop: str = "singkawang", submitter: str = "skw.ayu", title: str = "") -> None:
    store.put_bytes(layout.brief_key(item_id), yaml.safe_dump(
        {"title": title or f"Judul {item_id}", "caption": "Teks", "channels": ["facebook"], "sop": sop,
         "assets": ["poster.jpg"], "submitter": submitter}).encode())


def _moves(store, item_id: str, moves: list[tuple[str, str | None, timedelta]]) -> None:
    """Record ``(state, step, offset from T0)`` in order, as the pipeline would have."""
    for state, step, offset in moves:
        record_state(store, item_id, state, step=step, at=T0 + offset)


def _decision(store, item_id: str, gate: str, decision: str, person: str, at: datetime, comment: str = "") -> None:
    store.put_json(layout.decision_key(item_id, gate, decision, at),
                   {"item_id": item_id, "gate": gate, "decision": decision, "person": person, "role": "kepala_bidang",
                    "comment": comment, "review_digest": "d", "at": at.isoformat(), "signature": "s"})


M = timedelta(minutes=1)


@pytest.fixture()
def month(store, sops):
    """November 2026 at Singkawang: one item published, one declined, one refused; one from October."""
    _brief(store, "pub")
    _moves(store, "pub", [("received", None, -M), ("in_step", "step_1_concept", 0 * M),
                          ("in_step", "step_2_design", 20 * M),              # concept 20 min (30): on time
                          ("awaiting_approval", "step_3_decision", 260 * M),  # design 4 h (3 h): 1 h late
                          ("approved", "step_3_decision", 270 * M),           # decision 10 min (15): on time
                          ("publishing", "step_4_upload", 270 * M), ("published", "step_4_upload", 275 * M)])
    _decision(store, "pub", "step_3_decision", "approve", "skw.hendra", T0 + 270 * M)
    store.put_json(layout.receipt_key("pub"), {"posts": [{"channel": "facebook", "permalink": "https://fb/p/1"}]})
    _brief(store, "dec")
    _moves(store, "dec", [("received", None, -M), ("in_step", "step_1_concept", 0 * M),
                          ("in_step", "step_2_design", 40 * M),               # concept 40 min: 10 min late
                          ("awaiting_approval", "step_3_decision", 100 * M),  # design 1 h: on time
                          ("declined", "step_3_decision", 120 * M)])          # decision 20 min: 5 min late
    _decision(store, "dec", "step_3_decision", "decline", "skw.hendra", T0 + 120 * M, "Tidak sesuai tema")
    _brief(store, "ref")
    _moves(store, "ref", [("received", None, 0 * M), ("refused", None, M)])
    _brief(store, "oct")
    record_state(store, "oct", "received", at=datetime(2026, 10, 31, 16, 0, tzinfo=timezone.utc))  # 23.00 WIB
    return sops["singkawang"]


def test_the_item_report_has_each_steps_actual_and_standard_time_the_decisions_and_the_post_links(store, month):
    write_item_report(store, "pub", month)
    report = store.get_json(layout.report_key("pub", "json"))
    steps = {s["number"]: s for s in report["steps"]}
    assert (steps[1]["actual"], steps[1]["standard"], steps[1]["within"]) == ("20 menit", "30 menit", True)
    assert (steps[2]["actual"], steps[2]["within"]) == ("4 jam", False)
    assert report["outcome"] == "published" and report["posts"][0]["permalink"] == "https://fb/p/1"
    assert [(d["name"], d["label"]) for d in report["decisions"]] == [("Hendra Wijaya", "Setujui")]
    html = store.get_bytes(layout.report_key("pub", "html")).decode()
    assert "https://fb/p/1" in html and "Hendra Wijaya" in html and "WIB" in html and "<script" not in html


def test_a_month_with_known_times_gives_known_figures_in_the_stored_html_csv_and_xlsx(store, month):
    keys = write_monthly_report(store, month, "2026-11")
    assert keys == {ext: f"reports/singkawang/2026-11.{ext}" for ext in ("html", "csv", "xlsx")}
    book = load_workbook(io.BytesIO(store.get_bytes(keys["xlsx"])))
    summary = {row[0]: row[1] for row in book["Ringkasan"].iter_rows(min_row=2, values_only=True)}
    assert summary == {"Diterima": 3, "Diunggah": 1, "Tidak disetujui": 1, "Ditolak (brief tidak valid)": 1,
                       "Belum selesai": 0}
    steps = {row[0]: row[1:] for row in book["Per langkah"].iter_rows(min_row=2, values_only=True)}
    concept, design, decision, upload = (steps[k] for k in sorted(steps))
    assert concept[1:] == (2, 30.0, 50.0)       # 20 and 40 min: median 30, one of two within 30 min
    assert design[1:] == (2, 150.0, 50.0)       # 4 h and 1 h against 3 h
    assert decision[1:] == (2, 15.0, 50.0)      # 10 and 20 min against 15 min
    assert upload[1:] == (1, 5.0, 100.0)
    misses = list(book["Pelanggaran"].iter_rows(min_row=2, values_only=True))
    assert sorted((m[0], m[2][0], m[5]) for m in misses) == [("dec", "1", "10 menit"), ("dec", "3", "5 menit"),
                                                              ("pub", "2", "1 jam")]
    roles = {row[0]: row[2:] for row in book["Per peran"].iter_rows(min_row=2, values_only=True)}
    assert roles["Kepala Bidang"] == (2, 15.0, 50.0)
    rows = list(csv.DictReader(io.StringIO(store.get_bytes(keys["csv"]).decode("utf-8-sig"))))
    assert len(rows) == 7 and {r["item_id"] for r in rows} == {"pub", "dec"}
    html = store.get_bytes(keys["html"]).decode()
    assert "Diterima 3" in html and "data:image/png;base64," in html and "November 2026" in html


def test_a_brief_refused_by_the_dispatcher_gets_a_report_with_its_problems_and_counts_in_its_month(store, month):
    from humas.dispatch import Decision, record_refusal
    from humas.exceptions import Problem

    _brief(store, "ref-d")
    record_state(store, "ref-d", "received", at=T0)
    problem = Problem("caption", "lebih panjang dari batas X", "pendekkan teks untuk X")
    record_refusal(store, Decision("ref-d", "refuse", "Brief item ref-d ditolak, 1 masalah", problems=(problem,)))
    report = store.get_json(layout.report_key("ref-d", "json"))
    assert (report["outcome"], report["sop"], report["agency"]) == ("refused", "singkawang", month.agency)
    assert report["problems"] == [{"field": "caption", "message": problem.message, "fix": problem.fix}]
    html = store.get_bytes(layout.report_key("ref-d", "html")).decode()
    assert "Alasan ditolak" in html and "pendekkan teks untuk X" in html
    counts = monthly_report(item_reports(store, month), month, "2026-11").counts
    assert (counts["refused"], counts["received"]) == (2, 4)  # "ref" of the month fixture and this one


def test_a_brief_naming_no_known_sop_still_gets_a_report_and_an_in_run_refusal_too(store, sops):
    from humas.steps.base import ItemStep

    _brief(store, "no-sop", sop="nowhere")
    record_state(store, "no-sop", "refused", message="Brief item no-sop ditolak", details={"problems": []})
    write_item_report(store, "no-sop")
    report = store.get_json(layout.report_key("no-sop", "json"))
    assert (report["outcome"], report["agency"], report["steps"]) == ("refused", "-", [])
    sop = sops["singkawang"]
    _brief(store, "edited")
    error = ItemStep(store, "edited", sop, sop.steps[0]).refuse("brief diubah orang lain", [
        {"field": "brief.yaml", "message": "diubah setelah diajukan", "fix": "ajukan ulang"}])
    assert "brief diubah orang lain" in str(error)
    report = store.get_json(layout.report_key("edited", "json"))
    assert report["outcome"] == "refused" and report["problems"][0]["fix"] == "ajukan ulang"


def test_an_item_received_late_on_the_last_evening_in_wib_belongs_to_that_month(store, month):
    reports = [item_report(store, i, month) for i in ("pub", "oct")]
    assert monthly_report(reports, month, "2026-11").counts["received"] == 1
    assert monthly_report(reports, month, "2026-10").counts["received"] == 1


def _waiting(store, item_id: str, sop: str, submitter: str, gate: str, since: datetime) -> None:
    _brief(store, item_id, sop, submitter)
    record_state(store, item_id, "awaiting_approval", step=gate, at=since)


def test_the_inbox_shows_only_the_persons_agencies_those_they_decide_first_and_a_late_one_late(store, sops):
    now = datetime.now(timezone.utc)
    _waiting(store, "skw-late", "singkawang", "skw.ayu", "step_3_decision", now - timedelta(hours=1))
    _waiting(store, "skw-own", "singkawang", "skw.hendra", "step_3_decision", now - timedelta(hours=2))
    _waiting(store, "kdl-item", "kendal", "kdl.dewi", "step_4_correction", now - timedelta(minutes=5))
    rosters = roster_lookup(sops)
    cards = [card_of(r, sops, rosters, now) for r in ItemIndex().records(store)]
    rows = inbox(cards, "skw.hendra", agencies_of("skw.hendra", sops, rosters), rosters)
    assert [(c.item_id, mine) for c, mine in rows] == [("skw-late", True), ("skw-own", False)]
    late = rows[0][0]
    assert late.late and late.time_words() == "terlambat 45 menit" and late.holders == ("Hendra Wijaya",)
    assert late.step_words.startswith("3. ") and late.submitter == "Ayu Lestari" and late.title == "Judul skw-late"
    assert not in_scope(store, "kdl-item", "skw.hendra") and in_scope(store, "kdl-item", "kdl.dewi")
    with pytest.raises(ApprovalRefused, match="tidak ada di antrean instansi Anda"):
        pending_for(store, "kdl-item", "skw.hendra")


def test_the_index_keeps_rows_in_memory_and_reads_again_only_what_was_forgotten(store, sops, s3_client):
    _waiting(store, "idx-a", "singkawang", "skw.ayu", "step_3_decision", datetime.now(timezone.utc))
    index = ItemIndex(max_age=timedelta(hours=1))
    assert [r.item_id for r in index.records(store)] == ["idx-a"]
    record_state(store, "idx-a", "approved", step="step_3_decision")
    assert index.records(store)[0].status["state"] == "awaiting_approval"  # from memory: no bucket request
    index.forget("idx-a")
    assert index.records(store)[0].status["state"] == "approved"


def test_the_step_since_stays_while_the_item_stays_at_its_step(store):
    _brief(store, "since")
    record_state(store, "since", "awaiting_approval", step="step_3_decision", at=T0)
    record_state(store, "since", "approval_flag_invalid", step="step_3_decision", at=T0 + M)
    assert read_record(store, "since").status["step_since"] == T0.isoformat()
    record_state(store, "since", "in_step", step="step_4_upload", at=T0 + 2 * M)
    assert read_record(store, "since").status["step_since"] == (T0 + 2 * M).isoformat()
    assert json.loads(store.get_bytes(layout.status_key("since")))["state"] == "in_step"


def test_humas_report_writes_the_month_into_the_bucket_and_a_copy_into_a_folder(store, month, s3_server, tmp_path,
                                                                               monkeypatch, capsys):
    from humas.cli import main as humas

    for name, value in {"HUMAS_S3_ENDPOINT_URL": s3_server, "HUMAS_BUCKET": store.bucket,
                        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    assert humas(["report", "--sop", "singkawang", "--month", "2026-11", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-11.csv", "2026-11.html", "2026-11.xlsx"]
    assert store.exists("reports/singkawang/2026-11.xlsx")
    assert humas(["report", "--sop", "singkawang", "--month", "2026-13"]) == 1
    assert "YYYY-MM" in capsys.readouterr().err
