"""The Celery workers' settings: Airflow's own, plus the steps' preload in each worker before it forks its pool.

A Celery worker runs each task in a process forked from one of its pool's processes, which are forked from the
worker itself; the worker is no Airflow ``Job``, so the plugin listener that preloads the scheduler
(``humas_airflow.preload``) never runs there and every task would load the steps' modules, the plugins and the
SOP files again. Named by ``[celery] celery_config_options`` (``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS`` in the
embedded stack, docker-compose.yml and docker-compose.worker.yml): Airflow imports this module wherever it makes
its Celery app, which connects the preload to Celery's ``worker_init``, sent in the worker's main process before
its pool starts (and never in the scheduler, which only sends tasks).
"""
from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_init

from humas_airflow.preload import preload_for

CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)


@worker_init.connect
def preload_for_the_pool(**_: Any) -> None:
    preload_for("the tasks this Celery worker runs")
