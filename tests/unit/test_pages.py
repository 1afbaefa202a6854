"""The pages staff read: the decision first, decline confirmed, nothing wider than a phone, every value
escaped, no script; and the security headers on every response of the approval and board apps."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from humas import pages
from humas.approval_service import PendingReview
from humas.board import BoardFilter, Card, group_by_step
from humas.brief import Brief
from humas.review import Review
from humas.roster import load_roster

NOW = datetime(2026, 11, 30, 11, 0, tzinfo=timezone.utc)


def _card(item_id: str = "item-1", left: timedelta | None = timedelta(minutes=-45), state: str = "awaiting_approval",
          title: str = "HUT <Kota>") -> Card:
    return Card(item_id, title, "singkawang", "Diskominfo Kota Singkawang", state, "Menunggu persetujuan", 3,
                "3. Kepala Bidang memeriksa", "kepala_bidang", "Kepala Bidang", ("Hendra Wijaya",), "Ayu Lestari",
                "skw.ayu", NOW - timedelta(hours=1), "15 menit", left, "Menunggu persetujuan: ...",
                "humas_sop_singkawang")


@pytest.fixture()
def pending(sops) -> PendingReview:
    sop = sops["singkawang"]
    brief = Brief(item_id="item-1", title="HUT <Kota>", caption="Selamat", channels=("facebook",), sop="singkawang",
                  assets=("poster.jpg",), submitter="skw.ayu")
    return PendingReview("item-1", sop, sop.gates[-1], load_roster(sop), brief, Review("item-1", "ab" * 32),
                         b"\xff\xd8jpeg")


def test_a_late_card_says_how_late_in_red_and_escapes_the_title():
    html = pages.inbox_page("skw.hendra", [(_card(), True)], NOW)
    assert "<span class='late'>Terlambat 45 menit</span>" in html
    assert "HUT &lt;Kota&gt;" in html and "HUT <Kota>" not in html
    assert "Keputusan Anda" in html and "pukul 17.00 WIB" in html and "Ayu Lestari" in html


def test_the_item_page_puts_the_decision_before_the_preview_and_has_no_fixed_width_field(pending):
    html = pages.item_page(pending, _card(), "", "tok", {"facebook": "Selamat\n\nRef. ABCD"}, NOW)
    assert html.index("Keputusan Anda") < html.index("Pratinjau") < html.index("Teks untuk facebook")
    assert "cols=" not in html and "<script" not in html and "name='decision' value='decline'" in html


def test_someone_who_may_not_decide_reads_why_at_the_top(pending):
    html = pages.item_page(pending, _card(), "Anda bukan Kepala Bidang", "tok", {}, NOW)
    assert html.index("Anda tidak dapat memutuskan") < html.index("Pratinjau") and "<form" not in html


def test_declining_asks_for_confirmation_with_the_reason(pending):
    html = pages.confirm_decline_page(pending, "Tidak sesuai <tema>", "tok")
    assert "name='confirm' value='yes'" in html and "Tidak sesuai &lt;tema&gt;" in html and "Batal" in html


def test_the_board_groups_by_step_filters_late_and_marks_declined_items():
    cards = [_card("a"), _card("b", left=timedelta(minutes=5)), _card("c", left=None, state="declined")]
    late_only = [c for c in cards if BoardFilter(late=True).keeps(c)]
    assert [c.item_id for c in late_only] == ["a"]
    html = pages.board_page(group_by_step(cards), BoardFilter(), {}, 3, NOW)
    assert "class='badge declined'" in html and "1 terlambat" in html and "Hendra Wijaya" in html
    assert "/dags/humas_sop_singkawang/runs/item__a" in html


@pytest.mark.parametrize("path", ["/static/humas.css", "/api/approvals"])
def test_every_response_of_the_approval_app_carries_the_security_headers(path):
    from humas_airflow.approval_app import app

    response = TestClient(app).get(path)
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none': no script
    assert response.headers["x-content-type-options"] == "nosniff"


def test_item_pages_are_not_stored_by_browsers_or_proxies():
    assert pages.SECURITY_HEADERS["Cache-Control"] == "no-store"


def test_the_board_shows_fifty_rows_a_page_with_links_that_keep_the_filter():
    groups = group_by_step([_card(f"i{n:03d}") for n in range(120)])
    filt = BoardFilter(agency="singkawang", late=True)
    first = pages.board_page(groups, filt, {}, 120, NOW)
    assert first.count("<li class='card'>") == 50 and "Halaman 1 dari 3" in first and "Sebelumnya" not in first
    assert "href='?agency=singkawang&amp;late=1&amp;page=2'" in first
    last = pages.board_page(groups, filt, {}, 120, NOW, page_number=3)
    assert last.count("<li class='card'>") == 20 and "(120)</h2>" in last and "Berikutnya" not in last
    assert "Halaman" not in pages.board_page(group_by_step([_card()]), filt, {}, 1, NOW)


def test_rows_older_than_a_minute_say_when_they_were_read():
    assert pages.stale_note(NOW - timedelta(seconds=30), NOW) == ""
    html = pages.inbox_page("skw.hendra", [], NOW, as_of=NOW - timedelta(minutes=5))
    assert "sedang diperbarui" in html and "pukul 17.55 WIB" in html
