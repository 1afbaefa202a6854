"""DAG integrity: every DAG file imports, one DAG per SOP file, the shape follows the SOP, no I/O at parse."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from humas.resources import include_dir

REPO = Path(__file__).resolve().parents[2]

# Parse the dags folder in a fresh interpreter (DAG files run at import; a test must not share that state).
# Sockets are disabled there: parsing must not touch the network, the bucket or a database.
PARSE = r"""
import json, socket, sys, time
def _no_network(*a, **k):
    raise RuntimeError("DAG parsing tried to open a network connection")
socket.socket.connect = _no_network
socket.create_connection = _no_network
from types import SimpleNamespace
from airflow.dag_processing.dagbag import DagBag
from airflow.task.priority_strategy import validate_and_load_priority_weight_strategy as load_rule
def _callbacks(value):
    return [c for c in (value if isinstance(value, list) else [value]) if c]
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - started
dags = {d.dag_id: {"tasks": [t.task_id for t in d.tasks], "tags": sorted(d.tags),
                   "order": [t.task_id for t in d.topological_sort()] if hasattr(d, "topological_sort") else [],
                   "display": {t.task_id: t.task_display_name for t in d.tasks},
                   "owners": sorted({t.owner for t in d.tasks}), "doc": d.doc_md or "",
                   "deadlines": len(d.deadline or []) if isinstance(d.deadline, list) else (1 if d.deadline else 0),
                   "weights": {t.task_id: load_rule(t.weight_rule).get_weight(SimpleNamespace(task=t))
                               for t in d.tasks},  # what the scheduler stores as the TI's priority
                   **{f"on_{event}": sorted({getattr(c, "__name__", "?") for t in d.tasks
                                             for c in _callbacks(getattr(t, f"on_{event}_callback"))})
                      for event in ("success", "failure", "skipped")}}
        for d in bag.dags.values()}
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": dags, "seconds": elapsed}))
"""


def parse_dags(include: Path | None = None, for_dag: str | None = None) -> dict:
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
           "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), os.environ.get("PYTHONPATH", "")])}
    if include is not None:
        env["HUMAS_INCLUDE_DIR"] = str(include)
    if for_dag is not None:  # what Airflow's task runner sets while it parses the file for a task of this DAG
        env["_AIRFLOW_PARSING_CONTEXT_DAG_ID"] = for_dag
    out = subprocess.run([sys.executable, "-c", PARSE, str(REPO / "dags")], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def parsed() -> dict:
    return parse_dags()


def test_every_dag_file_imports_without_errors(parsed):
    assert parsed["errors"] == {}


def test_one_dag_per_sop_file_plus_the_dispatcher_the_monthly_reports_and_a_daily_digest_per_sop(parsed, sops):
    assert set(parsed["dags"]) == ({s.dag_id for s in sops.values()} | {"humas_dispatcher", "humas_monthly_reports"}
                                   | {f"humas_digest_{s.id}" for s in sops.values()})


def test_sop_dag_tasks_follow_the_sop_steps_in_order(parsed, sops):
    for sop in sops.values():
        dag = parsed["dags"][sop.dag_id]
        expected = [s.task_id for s in sop.steps]
        assert sorted(dag["tasks"]) == sorted(expected)
        if dag["order"]:
            assert dag["order"] == expected
        for step in sop.steps:  # staff recognise their procedure: display names in the SOP's words
            assert step.activity in dag["display"][step.task_id]
        assert {sop.role(s.actor).name for s in sop.steps} <= set(dag["owners"])
        assert sop.steps[0].activity in dag["doc"]
        assert "sop" in dag["tags"] and sop.id in dag["tags"]


def test_every_timed_step_gets_a_run_deadline_and_no_run_level_reminder(parsed, sops):
    for sop in sops.values():  # a reminder counts from the step's own start: the waiting step sends it
        timed = [s for s in sop.steps if s.time.kind == "duration"]
        assert parsed["dags"][sop.dag_id]["deadlines"] == len(timed)


def test_in_a_burst_new_items_are_checked_first_then_later_steps_outrank_earlier_ones(parsed, sops):
    dispatcher = parsed["dags"]["humas_dispatcher"]["weights"]
    for sop in sops.values():
        weights = parsed["dags"][sop.dag_id]["weights"]
        in_order = [weights[s.task_id] for s in sop.steps]
        assert in_order == sorted(set(in_order)), (sop.id, in_order)  # strictly rising: work under way first
        assert min(dispatcher.values()) > max(in_order)


def test_every_step_puts_its_run_first_in_the_schedulers_next_loop_when_it_ends(parsed):
    for dag_id, dag in parsed["dags"].items():
        if dag_id.startswith("humas_sop_"):  # the dispatcher, digests and reports: nothing follows their task
            assert dag["on_success"] == dag["on_failure"] == dag["on_skipped"] == ["schedule_next_step"], dag_id


def test_parsing_needs_no_network_and_is_quick(parsed):
    # A guard against I/O at parse time (which would wait on a connect timeout), not a performance goal.
    assert parsed["seconds"] < 5


def test_a_task_parsing_the_file_gets_its_own_dag_only(parsed):
    sop_dags = {d for d in parsed["dags"] if d.startswith("humas_sop_")}
    assert len(sop_dags) == 4
    for_kendal = parse_dags(for_dag="humas_sop_kendal")
    assert set(for_kendal["dags"]) == {"humas_dispatcher", "humas_monthly_reports", "humas_sop_kendal"}
    assert for_kendal["dags"]["humas_sop_kendal"] == parsed["dags"]["humas_sop_kendal"]


def test_a_malformed_sop_file_becomes_a_visible_error_dag_and_the_others_still_load(tmp_path, sops):
    include = tmp_path / "include"
    shutil.copytree(include_dir(), include)
    (include / "sops" / "bogor.yaml").write_text("id: bogor\nagency: Diskominfo Bogor\nsteps: [1, 2\n")
    parsed = parse_dags(include)
    assert parsed["errors"] == {}
    assert "humas_sop_bogor" in parsed["dags"]
    assert "sop-error" in parsed["dags"]["humas_sop_bogor"]["tags"]
    assert "bogor.yaml" in parsed["dags"]["humas_sop_bogor"]["doc"]
    assert {s.dag_id for s in sops.values()} <= set(parsed["dags"])


def test_a_fifth_agency_needs_only_a_yaml_file(tmp_path):
    include = tmp_path / "include"
    shutil.copytree(include_dir(), include)
    text = (include / "sops" / "singkawang.yaml").read_text().replace("id: singkawang", "id: bogor", 1)
    (include / "sops" / "bogor.yaml").write_text(text)
    parsed = parse_dags(include)
    assert parsed["errors"] == {}
    assert "step_4_upload" in parsed["dags"]["humas_sop_bogor"]["tasks"]
