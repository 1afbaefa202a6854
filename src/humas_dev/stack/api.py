"""Asking the running stack: Airflow's API (a token, a GET, whether the DAGs are parsed) and an item's status."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

import requests

from humas.airflow_api import AirflowApi
from humas_dev.stack.config import StackConfig, load_secrets

if TYPE_CHECKING:
    from humas.store import Store


def api_token(cfg: StackConfig) -> str:
    return AirflowApi(cfg.airflow_url, "admin", load_secrets(cfg)["admin_password"]).token()


def api_get(cfg: StackConfig, path: str, token: str | None = None) -> requests.Response:
    return requests.get(f"{cfg.airflow_url}{path}", headers={"Authorization": f"Bearer {token or api_token(cfg)}"},
                        timeout=30)


def wait_for_dags(cfg: StackConfig, dag_ids: list[str], timeout: float = 180) -> None:
    """Block until the DAG processor has parsed every DAG in ``dag_ids``."""
    deadline = time.monotonic() + timeout
    missing = set(dag_ids)
    while time.monotonic() < deadline:
        try:
            missing = {d for d in missing if api_get(cfg, f"/api/v2/dags/{d}").status_code != 200}
        except requests.RequestException:  # an API server still starting on a busy machine: ask again
            pass
        if not missing:
            return
        time.sleep(2)
    raise RuntimeError(f"DAGs not parsed after {timeout}s: {sorted(missing)}; see {cfg.home / 'logs'}")


def wait_for_state(store: "Store", item_id: str, states: set[str], timeout: float, step: str | None = None) -> dict:
    """Poll the item's status until it is in one of ``states`` (at ``step``, if given); return the status."""
    from humas.status import read_status

    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        status = read_status(store, item_id) or {}
        if status.get("state") in states and step in (None, status.get("step")):
            return status
        time.sleep(1)
    raise RuntimeError(f"item {item_id} did not reach {sorted(states)} in {timeout:.0f}s (last: {status.get('state')})")
