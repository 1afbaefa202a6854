"""Registers the Humas web apps with Airflow's API server: the approval page (and its JSON API for the CLI),
the ops board (Papan Konten),
the bucket webhook, and the step-done nudge to the scheduler; and the listener that preloads the SOP steps in
the scheduler."""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from humas_airflow import preload
from humas_airflow.approval_app import app as approval_app
from humas_airflow.board_app import app as board_app
from humas_airflow.intake_app import app as intake_app
from humas_airflow.run_app import app as run_app


class HumasPlugin(AirflowPlugin):
    name = "humas"
    fastapi_apps = [{"app": approval_app, "url_prefix": "/humas", "name": "Persetujuan Humas"},
                    {"app": board_app, "url_prefix": "/humas-board", "name": "Papan Konten"},
                    {"app": intake_app, "url_prefix": "/humas-intake", "name": "Humas bucket webhook"},
                    {"app": run_app, "url_prefix": "/humas-runs", "name": "Humas step-done nudge"}]
    listeners = [preload]
    external_views = [{"name": "Persetujuan Humas", "href": "/humas/approvals", "destination": "nav",
                       "url_route": "humas-approvals"},
                      {"name": "Papan Konten", "href": "/humas-board/", "destination": "nav",
                       "url_route": "humas-board"}]
