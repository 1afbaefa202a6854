"""Notifications' pure parts: roster contacts and supervisors, the outbox's keys, due times and reminders in
words, the daily digest's text, and ``humas status``'s readable lines (WIB, durations in words, wrapped)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from humas import layout
from humas.digest import digest_text, recipients
from humas.exceptions import LayoutError, RosterError
from humas.itemview import Position, history_lines, overview_line, position, wrapped
from humas.notify import approval_link, due_words
from humas.roster import load_roster

NOW = datetime(2026, 11, 30, 11, 28, tzinfo=timezone.utc)  # Senin, 30 November 2026 pukul 18.28 WIB


def _roster(tmp_path: Path, sop, text: str):
    path = tmp_path / f"{sop.id}.yaml"
    path.write_text(text)
    return load_roster(sop, path)


def test_contacts_are_read_and_any_may_be_absent(sops, tmp_path) -> None:
    roster = _roster(tmp_path, sops["singkawang"], """
supervisors: {perancang_grafis: kepala_bidang}
people:
  - {id: a.b, name: "A B", roles: [perancang_grafis], email: "a@x.go.id", telegram: 123456, whatsapp: "+6281234567890"}
  - {id: c.d, name: "C D", roles: [kepala_bidang]}
""")
    assert roster.person("a.b").contacts == {"email": "a@x.go.id", "telegram": "123456", "whatsapp": "+6281234567890"}
    assert roster.person("c.d").contacts == {}
    assert roster.supervisor_of("perancang_grafis") == "kepala_bidang" and roster.supervisor_of("kepala_bidang") is None


@pytest.mark.parametrize(("entry", "field"), [
    ('email: "not-an-address"', "people[0].email"),
    ('whatsapp: "081234"', "people[0].whatsapp"),
    ("telegram: abc", "people[0].telegram"),
    ("phone: 1234", "people[0].phone"),
])
def test_a_bad_contact_is_refused_naming_the_field_and_the_fix(sops, tmp_path, entry: str, field: str) -> None:
    with pytest.raises(RosterError) as caught:
        _roster(tmp_path, sops["singkawang"], f"people:\n  - {{id: a.b, name: A, roles: [kepala_bidang], {entry}}}\n")
    [problem] = caught.value.problems
    assert problem.field == field and problem.fix


@pytest.mark.parametrize("pair", ["{perancang_grafis: kepala_dinas}", "{kepala_bidang: kepala_bidang}", "[x]"])
def test_supervisors_must_pair_two_different_roles_of_the_sop(sops, tmp_path, pair: str) -> None:
    with pytest.raises(RosterError, match="supervisors"):
        _roster(tmp_path, sops["singkawang"], f"supervisors: {pair}\npeople:\n  - {{id: a, name: A, roles: [kepala_bidang]}}\n")


def test_every_agency_roster_names_supervisors_and_contacts(sops) -> None:
    for sop in sops.values():
        roster = load_roster(sop)
        assert roster.supervisors, sop.id
        assert all(p.contacts for p in roster.people.values()), sop.id


def test_one_notice_folder_per_item_step_kind_round_person() -> None:
    folder = layout.notice_folder("hut-kota", "step_3_decision", "approval_request", "ab12", "skw.hendra")
    assert folder == "pipeline/hut-kota/notices/step_3_decision/approval_request/ab12/skw.hendra/"
    assert layout.notice_folder_of_key(layout.notice_key(folder)) == (folder, "notice")
    assert layout.notice_folder_of_key(layout.delivery_key(folder, "email")) == (folder, "email")
    sent = layout.notice_folder_of_key(layout.sent_key(folder, ["email", "whatsapp"]))
    assert sent[0] == folder and layout.sent_channels(sent[1]) == ["email", "whatsapp"]
    assert layout.sent_channels("email") == [] and layout.sent_channels("notice") == []
    assert layout.digest_folder("kendal", "2026-11-30", "kdl.agus") == "notices/kendal/digest/2026-11-30/kdl.agus/"
    with pytest.raises(LayoutError):
        layout.notice_folder("hut-kota", "step_3_decision", "approval_request", "../x", "skw.hendra")


def test_a_notice_folder_has_one_pending_marker_and_nothing_else_has_one() -> None:
    folder = layout.notice_folder("hut-kota", "step_3_decision", "approval_request", "ab12", "skw.hendra")
    digest = layout.digest_folder("kendal", "2026-11-30", "kdl.agus")
    key = layout.outbox_pending_key(folder)
    assert key.startswith(layout.OUTBOX_PENDING) and key == layout.outbox_pending_key(folder)
    assert key != layout.outbox_pending_key(digest) and layout.is_notice_folder(digest)
    for not_a_folder in ("pipeline/hut-kota/status.json", folder + "email.json", "pipeline/../notices/a/b/c/d/",
                         folder.rstrip("/"), None):
        assert not layout.is_notice_folder(not_a_folder)
    with pytest.raises(LayoutError):
        layout.outbox_pending_key("inbox/hut-kota/")


def test_due_times_are_in_wib_and_a_flexible_step_says_it_has_none(sops) -> None:
    singkawang, kendal = sops["singkawang"], sops["kendal"]
    assert due_words(singkawang.steps[2], NOW) == \
        "Batas waktu: Senin, 30 November 2026 pukul 18.43 WIB (waktu baku 15 menit)"
    assert due_words(kendal.steps[4], NOW) == "Waktu baku: Menyesuaikan (tanpa batas waktu tetap)"


def test_the_approval_link_uses_the_ui_address(monkeypatch) -> None:
    monkeypatch.setenv("HUMAS_UI_URL", "https://humas.example/")
    assert approval_link("hut-kota") == "https://humas.example/humas/approvals/hut-kota"


def test_the_position_of_an_open_item_counts_from_when_it_reached_the_step(sops) -> None:
    sop = sops["singkawang"]
    events = [{"step": "step_2_design", "at": "2026-11-30T09:00:00+00:00"},
              {"step": "step_3_decision", "at": "2026-11-30T10:00:00+00:00"},
              {"step": "step_3_decision", "at": "2026-11-30T10:30:00+00:00"}]
    status = {"state": "approval_flag_invalid", "step": "step_3_decision", "at": "2026-11-30T10:30:00+00:00"}
    where = position(sop, status, events, NOW)
    assert where.since == datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)
    assert where.late == timedelta(hours=1, minutes=13)
    assert where.time_words(NOW) == ("Waktu baku 15 menit, batas Senin, 30 November 2026 pukul 17.15 WIB: "
                                     "terlambat 1 jam 13 menit")
    assert position(sop, {**status, "state": "published"}, events, NOW) is None


def test_history_is_in_wib_and_wrapped_never_cut() -> None:
    message = "Dikembalikan ke Perancang Grafis oleh Hendra Wijaya (Kepala Bidang): " + "logo kurang besar " * 12
    lines = history_lines([{"at": "2026-11-30T11:28:00+00:00", "state": "revision_requested",
                            "label": "Dikembalikan untuk revisi", "step": "step_2_design", "message": message}], 60)
    assert lines[0] == "  Senin, 30 November 2026 pukul 18.28 WIB  Dikembalikan untuk revisi  (step_2_design)"
    assert all(len(line) <= 60 for line in lines[1:])
    assert " ".join(line.strip() for line in lines[1:]) == message.strip()
    assert wrapped("", "  ") == [""]


def test_the_overview_line_says_when_in_wib() -> None:
    line = overview_line("hut-kota", {"label": "Menunggu persetujuan", "at": "2026-11-30T11:28:00+00:00"})
    assert line.endswith("Senin, 30 November 2026 pukul 18.28 WIB") and "Menunggu persetujuan" in line


def test_the_digest_lists_late_items_first_with_who_they_wait_on(sops) -> None:
    sop = sops["singkawang"]
    roster = load_roster(sop)
    items = [("on-time", {"label": "Sedang dikerjakan"}, Position(sop.steps[1], NOW - timedelta(minutes=5), None)),
             ("late", {"label": "Menunggu persetujuan"},
              Position(sop.steps[2], NOW - timedelta(hours=2), timedelta(hours=1, minutes=45)))]
    text = digest_text(sop, roster, items, NOW)
    assert text.index("TERLAMBAT:") < text.index("- late") < text.index("Sedang berjalan:") < text.index("- on-time")
    assert "menunggu Kepala Bidang (Hendra Wijaya)" in text and "terlambat 1 jam 45 menit" in text
    assert [p.id for p in recipients(sop, roster)] == ["skw.hendra"]
    assert "Tidak ada konten" in digest_text(sop, roster, [], NOW)
