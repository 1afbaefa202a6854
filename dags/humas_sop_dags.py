"""One DAG per SOP file in include/sops/: adding an agency needs a YAML file and nothing else.

A file that does not load becomes a placeholder DAG tagged ``sop-error`` that shows its problems,
so one bad file never hides the other agencies' DAGs.
"""
from __future__ import annotations

from humas.exceptions import SopError
from humas.resources import sops_dir
from humas.sop import load_sop, sop_files

from humas_airflow.dag_factory import build_broken_sop_dag, build_sop_dag

for _path in sop_files(sops_dir()):
    try:
        _dag = build_sop_dag(load_sop(_path))
    except SopError as _error:
        _dag = build_broken_sop_dag(_path.stem, _error)
    globals()[_dag.dag_id] = _dag
