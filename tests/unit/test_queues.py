"""The scale-out path's settings: each step kind on its queue, and the embedded stack's Celery components."""
from __future__ import annotations

from pathlib import Path

import pytest

from humas.queues import KIND_QUEUES, LIGHT, MEDIA
from humas.sop import STAGE_KINDS


def test_every_step_kind_has_a_queue_and_only_work_and_uploads_are_heavy() -> None:
    assert set(KIND_QUEUES) == set(STAGE_KINDS.values())
    assert {kind for kind, queue in KIND_QUEUES.items() if queue == MEDIA} == {"work", "upload"}


def test_each_step_task_is_put_on_its_kinds_queue(sops) -> None:
    from humas_airflow.dag_factory import build_sop_dag

    for sop in sops.values():
        dag = build_sop_dag(sop)
        for step in sop.steps:
            assert dag.get_task(step.task_id).queue == KIND_QUEUES[step.kind], (sop.id, step.task_id)


def test_the_celery_stack_has_redis_a_worker_per_queue_per_machine_and_more_triggerers(tmp_path: Path) -> None:
    from humas_dev.stack import StackConfig, airflow_env
    from humas_dev.stack.lifecycle import _commands

    from humas_dev.stack.config import write_bucket_keys
    from humas_dev.stack.principals import ADMIN, APPROVALS, PIPELINE

    cfg = StackConfig(home=tmp_path, executor="celery", workers=2, triggerers=2, redis_port=6399)
    write_bucket_keys(cfg, {p: {"access_key": "k", "secret_key": "s"} for p in (ADMIN, APPROVALS, PIPELINE)})
    workers = [n for n in cfg.components if n.startswith("worker-")]
    assert workers == ["worker-light-1", "worker-media-1", "worker-light-2", "worker-media-2"]
    assert {"redis", "triggerer", "triggerer-2"} <= set(cfg.components)
    commands = _commands(cfg)
    assert commands["worker-media-2"][commands["worker-media-2"].index("--queues") + 1] == MEDIA
    env = airflow_env(cfg, dict.fromkeys(("jwt_secret", "fernet_key", "approval_key", "s3_access_key",
                                          "s3_secret_key", "platform_token", "pipeline_password", "db_password"), "x"))
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor" and env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == LIGHT
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:6399/0"
    assert env["AIRFLOW__CORE__PARALLELISM"] == str(2 * 2 * cfg.worker_slots)


def test_the_local_stack_is_unchanged_and_a_bad_executor_is_refused(tmp_path: Path) -> None:
    from humas_dev.stack import COMPONENTS, StackConfig

    assert StackConfig(home=tmp_path).components == COMPONENTS
    with pytest.raises(ValueError, match="executor 'kubernetes'"):
        StackConfig(home=tmp_path, executor="kubernetes")
