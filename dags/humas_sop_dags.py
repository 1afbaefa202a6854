"""One DAG per SOP file in include/sops/: adding an agency needs a YAML file and nothing else.

A file that does not load becomes a placeholder DAG tagged ``sop-error`` that shows its problems,
so one bad file never hides the other agencies' DAGs.
"""
from __future__ import annotations

from pathlib import Path

from airflow.sdk import get_parsing_context

from humas.sop import available_sops_report

from humas_airflow.dag_factory import build_broken_sop_dag, build_sop_dag

# Cached by file signature: a task's process has read the SOP files already (see humas_airflow.preload).
_sops, _errors = available_sops_report()
_wanted = get_parsing_context().dag_id  # a task parses this file again for its own DAG only
for _sop in _sops.values():
    if _wanted in (None, _sop.dag_id):
        globals()[_sop.dag_id] = build_sop_dag(_sop)
for _error in _errors:
    _dag = build_broken_sop_dag(Path(_error.source).stem, _error)
    globals().setdefault(_dag.dag_id, _dag)  # a.yml repeating a.yaml's id leaves a.yaml's DAG in place
