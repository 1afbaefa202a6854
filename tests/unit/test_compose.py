"""The production compose file cannot run here (no Docker engine), so it is checked statically."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from humas_dev.stack.config import CELERY_CONFIG

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_the_stack_has_airflow_postgres_and_minio(compose):
    assert {"postgres", "minio", "minio-init", "airflow-init", *AIRFLOW_SERVICES} <= set(compose["services"])


def test_every_airflow_component_mounts_the_project_and_gets_the_bucket_connection(compose):
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        mounts = {m.split(":")[1] for m in service["volumes"] if ":" in m}
        assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include"} <= mounts
        env = service["environment"]
        assert '"addressing_style": "path"' in env["AIRFLOW_CONN_HUMAS_BUCKET"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_images_are_pinned_and_the_airflow_image_matches_requirements(compose):
    for name, service in compose["services"].items():
        image = service.get("image", "")
        assert image and not image.endswith(":latest") and ":" in image, name
    dockerfile = (REPO / "Dockerfile").read_text()
    pinned = re.search(r"apache-airflow==([\d.]+)", (REPO / "requirements.txt").read_text()).group(1)
    assert f"apache/airflow:{pinned}-" in dockerfile


def test_no_secret_is_written_in_the_compose_file():
    text = (REPO / "docker-compose.yml").read_text()
    for key in ("PASSWORD", "SECRET", "JWT_SECRET"):
        for line in text.splitlines():
            # a *_FILE setting names where a secret is mounted, not the secret
            if re.search(rf"{key}\w*:\s", line) and "${" not in line and not re.search(r"_FILE:\s", line):
                pytest.fail(f"literal secret in docker-compose.yml: {line.strip()}")


def test_every_variable_the_compose_file_needs_is_in_env_example():
    needed = set(re.findall(r"\$\{(\w+):\?", (REPO / "docker-compose.yml").read_text()))
    example = {line.split("=")[0] for line in (REPO / ".env.example").read_text().splitlines()
               if line and not line.startswith("#")}
    assert needed <= example


def test_every_airflow_component_shares_the_approval_key_and_the_api_connection(compose):
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["HUMAS_APPROVAL_KEY"].startswith("${") and '"login": "humas-pipeline"' in env["AIRFLOW_CONN_HUMAS_AIRFLOW_API"]
        assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith("/opt/airflow/secrets/")


def test_minio_sends_inbox_events_to_the_intake_webhook_with_the_shared_token(compose):
    minio = compose["services"]["minio"]["environment"]
    assert minio["MINIO_NOTIFY_WEBHOOK_ENDPOINT_HUMAS"].endswith("/humas-intake/minio/events")
    assert minio["MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_HUMAS"] == compose["services"]["airflow-apiserver"][
        "environment"]["HUMAS_WEBHOOK_TOKEN"]
    assert "mc event add" in " ".join(compose["services"]["minio-init"]["command"]) and "--prefix inbox/" in \
        " ".join(compose["services"]["minio-init"]["command"])


def test_production_scheduler_examines_as_many_waiting_runs_per_loop_as_the_embedded_stack(compose, tmp_path):
    from humas_dev import stack

    key = "AIRFLOW__SCHEDULER__MAX_DAGRUNS_PER_LOOP_TO_SCHEDULE"
    secrets = dict.fromkeys(("jwt_secret", "fernet_key", "approval_key", "s3_access_key", "s3_secret_key",
                             "platform_token", "pipeline_password", "db_password"), "x")
    keys = {name: {"access_key": "k", "secret_key": "s"} for name in ("humas-pipeline", "humas-approvals")}
    stack.write_bucket_keys(stack.StackConfig(home=tmp_path), keys)
    embedded = stack.airflow_env(stack.StackConfig(home=tmp_path), secrets)[key]
    assert compose["services"]["airflow-scheduler"]["environment"][key] == embedded


def test_minio_enforces_the_same_principals_as_the_embedded_stack(compose):
    """The policies minio-init creates are the embedded stack's rules (humas_dev.stack.principals), and no
    user gets MinIO's readwrite-everything policy any more."""
    import json

    from humas_dev.stack.principals import minio_policies

    for name, policy in minio_policies().items():
        assert json.loads((REPO / "deploy" / "minio" / "policies" / f"{name}.json").read_text()) == policy, name
    command = " ".join(compose["services"]["minio-init"]["command"])
    assert "attach local readwrite" not in command and "detach local readwrite" in command
    for policy in ("humas-pipeline", "humas-approvals", "humas-staff"):
        assert f"/policies/$$p.json" in command and policy in command
    airflow = compose["services"]["airflow-apiserver"]["environment"]
    assert "MINIO_APPROVALS_ACCESS_KEY" in airflow["AIRFLOW_CONN_HUMAS_BUCKET_APPROVALS"]


def test_celery_workers_serve_each_queue_and_two_triggerers_run(compose):
    from humas.queues import LIGHT, QUEUES

    services = compose["services"]
    served = {s["command"][s["command"].index("--queues") + 1] for s in services.values()
              if s.get("command", [])[:3] == ["airflow", "celery", "worker"]}
    assert served == set(QUEUES)
    assert sum(s.get("command") == ["airflow", "triggerer"] for s in services.values()) == 2
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == LIGHT
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://:${REDIS_PASSWORD:?")   # never an open Redis
    assert "--requirepass" in services["redis"]["command"]
    assert env["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == CELERY_CONFIG  # the workers preload as the stack's do


def test_a_worker_machine_joins_the_same_broker_and_queues(compose):
    worker = yaml.safe_load((REPO / "docker-compose.worker.yml").read_text())
    main_env = compose["services"]["airflow-scheduler"]["environment"]
    for service in worker["services"].values():
        env = {**worker["x-worker"]["environment"], **service.get("environment", {})}
        for key in ("AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CORE__FERNET_KEY",
                    "HUMAS_APPROVAL_KEY", "AIRFLOW_CONN_HUMAS_BUCKET", "AIRFLOW__OPERATORS__DEFAULT_QUEUE",
                    "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"):
            assert env[key] == main_env[key], key
    assert {s["command"][-1] for s in worker["services"].values()} == {"light", "media"}
