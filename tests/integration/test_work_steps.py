"""Work steps that wait for people (``humas.steps.work``) over a real S3 server, without Airflow: an item that
enters as an idea waits at its concept step for the narration and at its design step for the files, each wait
timed from its start against the step's standard time, and the person who delivered recorded; an item that
arrives complete goes straight through. Deliveries are made as staff make them: ``humas deliver``."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from PIL import Image

from humas import layout
from humas.cli import main as humas
from claims import submit_brief
from humas.delivery import BY_METADATA, brief_with_delivery, claim_delivery, delivered_by
from humas.sop import parse_sop
from humas.status import read_events, read_status
from humas.steps.base import ItemStep, WaitForChange
from humas.steps.work import WORK_WAIT, do_work

pytestmark = pytest.mark.integration

ITEM = "ide-pasar-rakyat"
IDEA = {"title": "Peresmian Pasar Rakyat", "description": "Wali Kota meresmikan pasar rakyat Beringharjo baru",
        "channels": ["facebook"], "sop": "yogyakarta", "submitter": "ygy.nina"}
CAPTION = "Pasar rakyat baru diresmikan hari ini #Jogja"


def _jpeg(blue: int = 147) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1080, 1350), (0, 82, blue)).save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture()
def cli(monkeypatch: pytest.MonkeyPatch, store, s3_server: str) -> None:
    """The humas CLI pointed at the test bucket."""
    for key, value in {"HUMAS_S3_ENDPOINT_URL": s3_server, "HUMAS_BUCKET": store.bucket,
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("HUMAS_USER", raising=False)


def _idea(store, **changes) -> None:
    """The idea as its submitter drops it (``humas submit``: their claim, then the brief)."""
    fields = {**IDEA, **changes}
    submit_brief(store, ITEM, yaml.safe_dump(fields).encode(), login=fields["submitter"])


def _step(store, sop, number: int, earlier: dict | None = None) -> ItemStep:
    return ItemStep(store, ITEM, sop, sop.steps[number - 1], earlier=(earlier or {}).get)


def _backdate_wait(store, task_id: str, minutes: int) -> None:
    """Move the wait's start back, as if the person had taken ``minutes`` to deliver."""
    record = store.get_json(layout.work_key(ITEM, task_id))
    since = datetime.fromisoformat(record["since"]) - timedelta(minutes=minutes)
    store.put_json(layout.work_key(ITEM, task_id), {**record, "since": since.isoformat()})


def test_a_concept_step_waits_for_the_narration_and_keeps_its_clock_across_tries(store, sops) -> None:
    _idea(store)
    sop = sops["yogyakarta"]
    outcome = do_work(_step(store, sop, 3))
    files = {o.key: o.etag for o in store.list(layout.item_prefix(ITEM))}
    record = store.get_json(layout.work_key(ITEM, "step_3_concept"))
    since = datetime.fromisoformat(record["since"])
    assert outcome == WaitForChange(layout.item_prefix(ITEM), files, WORK_WAIT, since + timedelta(minutes=72), since)
    status = read_status(store, ITEM)
    assert (status["state"], status["step"]) == ("awaiting_delivery", "step_3_concept")
    assert "Tim Konten" in status["message"] and "narasi" in status["message"] and "WIB" in status["message"]
    assert datetime.fromisoformat(record["due"]) - since == timedelta(minutes=90)
    # a resumed or retried try goes on waiting on the same clock, and does not announce the wait again
    assert isinstance(do_work(_step(store, sop, 3)), WaitForChange)
    assert store.get_json(layout.work_key(ITEM, "step_3_concept"))["since"] == record["since"]
    assert [e["state"] for e in read_events(store, ITEM)].count("awaiting_delivery") == 1


def test_the_narration_delivered_late_is_timed_from_the_wait_and_names_who_delivered(store, sops, cli) -> None:
    _idea(store)
    sop = sops["yogyakarta"]
    do_work(_step(store, sop, 3))
    _backdate_wait(store, "step_3_concept", 100)  # the Tim Konten took 1 h 40 min; the standard is 90 min
    assert humas(["deliver", ITEM, "--caption", CAPTION, "--user", "ygy.tari"]) == 0
    result = do_work(_step(store, sop, 3))  # a fresh try: its own start would make it look on time
    delivery = result["delivery"]
    assert result["caption"] == CAPTION and result["submitter"] == "ygy.nina"
    assert delivery["by"] == {"caption": "ygy.tari"} and not delivery["already"]
    assert 100 * 60 <= delivery["waited_seconds"] < 101 * 60
    events = read_events(store, ITEM)
    delivered = next(e for e in events if e["state"] == "delivered")
    assert "Tari Wulandari" in delivered["message"] and "1 jam 40 menit" in delivered["message"]
    late = [e for e in events if e["state"] == "sla_missed"]
    assert len(late) == 1 and "1 jam 30 menit" in late[0]["message"] and "Tim Konten" in late[0]["message"]
    assert store.get_json(layout.work_key(ITEM, "step_3_concept"))["delivered_at"] == delivery["delivered_at"]
    # a retry after the delivery was recorded (Airflow may run a resumed task again) reports the same delivery
    assert do_work(_step(store, sop, 3))["delivery"] == delivery
    assert [e["state"] for e in read_events(store, ITEM)].count("delivered") == 1


def test_the_design_waits_for_its_files_then_checks_them_and_records_the_designer(store, sops, cli,
                                                                                 tmp_path: Path) -> None:
    _idea(store, caption=CAPTION)
    sop = sops["yogyakarta"]
    concept = do_work(_step(store, sop, 3))
    assert concept["delivery"]["already"]  # the narration came with the idea: nothing to wait for
    earlier = {"step_3_concept": concept}
    wait = do_work(_step(store, sop, 4, earlier))
    assert isinstance(wait, WaitForChange)
    assert "Desainer/Editor" in read_status(store, ITEM)["message"]
    (tmp_path / "poster.jpg").write_bytes(_jpeg())
    assert humas(["deliver", ITEM, str(tmp_path / "poster.jpg"), "--user", "ygy.yoga"]) == 0
    manifest = do_work(_step(store, sop, 4, earlier))
    assert manifest["ok"] and [r["name"] for r in manifest["renditions"]] == ["01-poster.jpg"]
    assert manifest["delivery"]["by"] == {"poster.jpg": "ygy.yoga"} and manifest["delivery"]["files"] == ["poster.jpg"]
    assert read_status(store, ITEM)["state"] == "assets_passed"
    assert not any(e["state"] == "sla_missed" for e in read_events(store, ITEM))  # delivered within 90 min


def test_status_names_the_checks_files_without_a_bucket_path_and_saves_them_into_a_folder(
        store, sops, cli, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sop, earlier = _design_delivered(store, sops, tmp_path, by="ygy.yoga")
    assert do_work(_step(store, sop, 4, earlier))["ok"]
    capsys.readouterr()
    assert humas(["status", ITEM]) == 0
    shown = capsys.readouterr().out
    assert "Berkas: hasil pemeriksaan berkas, lembar pratinjau" in shown
    assert "s3://" not in shown and "pipeline/" not in shown
    assert humas(["status", ITEM, "--save", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "findings.md").read_bytes() == store.get_bytes(layout.findings_key(ITEM, "md"))
    assert (tmp_path / "out" / "preview.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    assert f"lembar pratinjau: {tmp_path / 'out' / 'preview.jpg'}" in capsys.readouterr().out


def test_an_item_that_arrives_complete_goes_straight_through_recorded_as_delivered_already(store, sops) -> None:
    store.put_bytes(layout.asset_key(ITEM, "poster.jpg"), _jpeg(), "image/jpeg")
    _idea(store, sop="singkawang", submitter="skw.ayu", caption=CAPTION, assets=["poster.jpg"])
    sop = sops["singkawang"]
    concept = do_work(_step(store, sop, 1))
    design = do_work(_step(store, sop, 2, {"step_1_concept": concept}))
    assert concept["delivery"]["already"] and design["delivery"]["already"] and design["ok"]
    delivered = [e for e in read_events(store, ITEM) if e["state"] == "delivered"]
    assert [e["step"] for e in delivered] == ["step_1_concept", "step_2_design"]
    assert all("sudah ada saat langkah dimulai" in e["message"] for e in delivered)
    assert "since" not in store.get_json(layout.work_key(ITEM, "step_1_concept"))  # it never waited


def test_a_delivery_by_the_submitter_outside_the_role_is_taken_and_named_as_such(store, sops) -> None:
    _idea(store)
    sop = sops["yogyakarta"]
    do_work(_step(store, sop, 3))
    updated = brief_with_delivery(store.get_bytes(layout.brief_key(ITEM)), CAPTION, [])
    claim_delivery(store, ITEM, "ygy.nina", updated, {})  # as `humas deliver --user ygy.nina` does
    store.put_bytes(layout.brief_key(ITEM), updated, "application/yaml")
    message = do_work(_step(store, sop, 3)) and read_status(store, ITEM)["message"]
    assert "Nina Puspita (bukan Tim Konten menurut roster)" in message


def _refused(store, outcome) -> str:
    """The refusal's reason; the step then waits for a new claim (every `humas deliver` writes one)."""
    status = read_status(store, ITEM)
    assert isinstance(outcome, WaitForChange) and status["state"] == "delivery_refused"
    assert outcome.prefix == layout.claims_prefix(ITEM)
    assert outcome.seen == {o.key: o.etag for o in store.list(layout.claims_prefix(ITEM))}
    return status["message"]


def _wakes(store, outcome: WaitForChange) -> bool:
    return {o.key: o.etag for o in store.list(outcome.prefix)} != outcome.seen


def test_a_delivery_whose_metadata_names_someone_nobody_vouches_for_is_refused_then_taken_from_its_person(
        store, sops, cli) -> None:
    _idea(store)
    sop = sops["yogyakarta"]
    do_work(_step(store, sop, 3))
    # an insider drops the narration, naming the Tim Konten in the object's metadata (anyone may write that)
    forged = brief_with_delivery(store.get_bytes(layout.brief_key(ITEM)), "Tautan hadiah: bit.ly/x", [])
    store.put_bytes(layout.brief_key(ITEM), forged, "application/yaml", metadata={BY_METADATA: "ygy.tari"})
    message = _refused(store, do_work(_step(store, sop, 3)))
    assert "mengaku diserahkan oleh ygy.tari" in message and "tidak terverifikasi" in message
    assert delivered_by(store, ITEM, [layout.BRIEF_NAME])[layout.BRIEF_NAME].login is None
    assert not any(e["state"] == "delivered" for e in read_events(store, ITEM))
    assert humas(["deliver", ITEM, "--caption", CAPTION, "--user", "ygy.tari"]) == 0
    result = do_work(_step(store, sop, 3))
    assert result["caption"] == CAPTION and result["delivery"]["by"] == {"caption": "ygy.tari"}


def _design_delivered(store, sops, tmp_path: Path, by: str = "ygy.eko") -> tuple:
    """The idea's narration taken and its design step waiting; then ``by`` (default: a colleague with no part in
    the design step) delivers a poster under their own (vouched) name. The SOP and the run's earlier results."""
    _idea(store, caption=CAPTION)
    sop = sops["yogyakarta"]
    earlier = {"step_3_concept": do_work(_step(store, sop, 3))}
    do_work(_step(store, sop, 4, earlier))
    (tmp_path / "poster.jpg").write_bytes(_jpeg())
    assert humas(["deliver", ITEM, str(tmp_path / "poster.jpg"), "--user", by]) == 0
    return sop, earlier


def test_a_colleagues_file_or_a_file_changed_since_its_delivery_is_refused_with_the_reason(
        store, sops, cli, tmp_path: Path) -> None:
    sop, earlier = _design_delivered(store, sops, tmp_path)
    message = _refused(store, do_work(_step(store, sop, 4, earlier)))
    assert "poster.jpg diserahkan oleh ygy.eko, bukan pengaju item atau Desainer/Editor menurut roster" in message
    assert not store.exists(layout.findings_key(ITEM))  # refused before anything was checked or rendered
    # the designer delivers; then someone swaps the file with another tool: the swap is refused too
    (tmp_path / "poster.jpg").write_bytes(_jpeg(200))
    assert humas(["deliver", ITEM, str(tmp_path / "poster.jpg"), "--user", "ygy.yoga"]) == 0
    assert delivered_by(store, ITEM, ["poster.jpg"])["poster.jpg"].logins == ("ygy.yoga",)
    store.put_bytes(layout.asset_key(ITEM, "poster.jpg"), _jpeg(30), "image/jpeg")
    message = _refused(store, do_work(_step(store, sop, 4, earlier)))
    assert "poster.jpg tidak sama dengan yang diserahkan ygy.yoga, ygy.eko" in message
    # the designer had dropped those very bytes with another tool: delivering them again changes no file, yet
    # their new claim wakes the step
    (tmp_path / "poster.jpg").write_bytes(_jpeg(30))
    wait, folder = do_work(_step(store, sop, 4, earlier)), _step(store, sop, 4).files()
    assert humas(["deliver", ITEM, str(tmp_path / "poster.jpg"), "--user", "ygy.yoga"]) == 0
    assert _step(store, sop, 4).files() == folder and _wakes(store, wait)
    assert do_work(_step(store, sop, 4, earlier))["delivery"]["by"] == {"poster.jpg": "ygy.yoga"}


def test_a_delivery_made_while_a_refusal_is_being_recorded_still_wakes_the_step(
        store, sops, cli, tmp_path: Path) -> None:
    sop, earlier = _design_delivered(store, sops, tmp_path)
    judging = _step(store, sop, 4, earlier)
    assert judging.files() and judging.claims and judging.brief  # the try's view: the colleague's delivery
    # the designer delivers before the refusal's wait begins
    (tmp_path / "poster.jpg").write_bytes(_jpeg(200))
    assert humas(["deliver", ITEM, str(tmp_path / "poster.jpg"), "--user", "ygy.yoga"]) == 0
    wait = do_work(judging)
    assert "diserahkan oleh ygy.eko" in read_status(store, ITEM)["message"]
    assert isinstance(wait, WaitForChange) and _wakes(store, wait)
    assert do_work(_step(store, sop, 4, earlier))["delivery"]["by"] == {"poster.jpg": "ygy.yoga"}


def test_the_etag_a_delivery_claims_is_the_one_the_bucket_gives_single_or_multipart(store, cli, tmp_path) -> None:
    from humas.delivery import etag_of

    _idea(store)
    big, small = tmp_path / "video.mp4", tmp_path / "foto.jpg"
    big.write_bytes(b"v" * (8 * 1024 * 1024 + 5))
    small.write_bytes(_jpeg())
    assert humas(["deliver", ITEM, str(big), str(small), "--user", "ygy.yoga"]) == 0
    listed = {o.key: o.etag for o in store.list(layout.item_prefix(ITEM))}
    assert listed[layout.asset_key(ITEM, "video.mp4")] == etag_of(big) and etag_of(big).endswith("-2")
    assert listed[layout.asset_key(ITEM, "foto.jpg")] == etag_of(small)
    assert delivered_by(store, ITEM, ["video.mp4", "foto.jpg"])["video.mp4"].logins == ("ygy.yoga",)


def test_a_design_after_a_coverage_waits_for_files_beyond_the_photos(store, sops, cli, tmp_path: Path) -> None:
    raw = yaml.safe_load(Path(sops["yogyakarta"].path).read_text())
    raw["steps"][2].update(stage="coverage", activity="Meliput dan mendokumentasikan kegiatan",
                           time={"text": "2 jam", "minutes": 120})
    sop = parse_sop(raw, "coverage-test")
    _idea(store, caption=CAPTION)
    for blue, name in enumerate(("foto.jpg", "poster.jpg")):
        (tmp_path / name).write_bytes(_jpeg(100 + 50 * blue))
    assert isinstance(do_work(_step(store, sop, 3)), WaitForChange)
    assert "berkas" in read_status(store, ITEM)["message"]
    assert humas(["deliver", ITEM, str(tmp_path / "foto.jpg"), "--user", "ygy.tari"]) == 0
    coverage = do_work(_step(store, sop, 3))
    assert coverage["delivery"]["files"] == ["foto.jpg"] and coverage["delivery"]["by"] == {"foto.jpg": "ygy.tari"}
    earlier = {"step_3_coverage": coverage}
    assert isinstance(do_work(_step(store, sop, 4, earlier)), WaitForChange)  # the photos are not the design
    assert humas(["deliver", ITEM, str(tmp_path / "poster.jpg"), "--user", "ygy.yoga"]) == 0
    design = do_work(_step(store, sop, 4, earlier))
    assert [r["name"] for r in design["renditions"]] == ["01-foto.jpg", "02-poster.jpg"]
    assert design["delivery"]["by"] == {"poster.jpg": "ygy.yoga"}


def test_deliver_refuses_a_delivery_that_would_break_the_brief_and_writes_nothing(store, cli, tmp_path: Path,
                                                                                capsys) -> None:
    _idea(store)
    before = store.get_bytes(layout.brief_key(ITEM))
    (tmp_path / "brief.yaml").write_bytes(b"x")
    assert humas(["deliver", ITEM, str(tmp_path / "brief.yaml"), "--user", "ygy.yoga"]) == 1
    assert humas(["deliver", ITEM, "--user", "ygy.yoga"]) == 1
    assert humas(["deliver", "no-such-item", "--caption", "x", "--user", "ygy.yoga"]) == 1
    assert humas(["deliver", ITEM, "--caption", CAPTION]) == 1  # nobody named
    assert "--user" in capsys.readouterr().err
    assert store.get_bytes(layout.brief_key(ITEM)) == before
    assert [o.key for o in store.list(layout.item_prefix(ITEM))] == [layout.brief_key(ITEM)]


def test_an_edit_by_another_hand_after_the_design_goes_back_to_the_work_step_not_to_the_approver(
        store, sops, cli) -> None:
    from humas.steps.base import SendBack
    from humas.steps.gate import decide_gate

    store.put_bytes(layout.asset_key(ITEM, "poster.jpg"), _jpeg(), "image/jpeg")
    _idea(store, sop="singkawang", submitter="skw.ayu", caption=CAPTION, assets=["poster.jpg"])
    sop = sops["singkawang"]
    concept = do_work(_step(store, sop, 1))
    earlier = {"step_1_concept": concept, "step_2_design": do_work(_step(store, sop, 2, {"step_1_concept": concept}))}
    brief = yaml.safe_load(store.get_bytes(layout.brief_key(ITEM)))
    store.put_bytes(layout.brief_key(ITEM), yaml.safe_dump({**brief, "caption": "Promo pinjol #Singkawang"}).encode())
    back = decide_gate(_step(store, sop, 3, earlier))
    assert isinstance(back, SendBack) and back.to.task_id == "step_2_design"
    status = read_status(store, ITEM)
    assert status["state"] == "delivery_refused" and "tidak diajukan untuk diputuskan" in status["message"]
    assert not store.exists(layout.review_key(ITEM))  # never put before the approver
    assert isinstance(do_work(_step(store, sop, 2, earlier)), WaitForChange)  # the design step refuses it too
    # the submitter puts the narration right with `humas deliver`: the item goes on to its approver
    assert humas(["deliver", ITEM, "--caption", CAPTION, "--user", "skw.ayu"]) == 0
    earlier["step_2_design"] = do_work(_step(store, sop, 2, earlier))
    assert isinstance(decide_gate(_step(store, sop, 3, earlier)), WaitForChange)
    assert read_status(store, ITEM)["state"] == "awaiting_approval"
