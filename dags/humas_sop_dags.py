"""One DAG per SOP file in include/sops/: adding an agency needs a YAML file and nothing else.

A file that does not load becomes a placeholder DAG tagged ``sop-error`` that shows its problems,
so one bad file never hides the other agencies' DAGs.
"""
from __future__ import annotations

from pathlib import Path

from humas.sop import available_sops_report

from humas_airflow.dag_factory import build_broken_sop_dag, build_sop_dag

# Cached by file signature: every task parses this file again, in a process that has read the SOPs already.
_sops, _errors = available_sops_report()
for _dag in [*(build_sop_dag(_sop) for _sop in _sops.values()),
             *(build_broken_sop_dag(Path(_error.source).stem, _error) for _error in _errors)]:
    globals()[_dag.dag_id] = _dag
