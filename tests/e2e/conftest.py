"""The real embedded stack (moto S3 server, platform sandbox, Airflow scheduler/dag-processor/triggerer/API
server) started once for the end-to-end tests, on free ports in a temporary home."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest
import requests

from humas.resources import include_dir
from humas.sop import load_sops_report
from humas.store import Store
from humas_dev import stack
import staff_cli


TEST_SOPS = Path(__file__).parent / "sops"
TEST_ROSTERS = Path(__file__).parent / "rosters"


@pytest.fixture(scope="session")
def stack_cfg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stack.StackConfig]:
    """The stack runs the agencies' SOPs plus the test SOPs in tests/e2e/sops/ (minute-long steps, so
    deadlines pass within a test), from a copy of include/: a new agency needs only its YAML file."""
    include = tmp_path_factory.mktemp("include")
    shutil.copytree(include_dir(), include, dirs_exist_ok=True)
    for sop_file in TEST_SOPS.glob("*.yaml"):
        shutil.copy(sop_file, include / "sops" / sop_file.name)
    for roster_file in TEST_ROSTERS.glob("*.yaml"):
        shutil.copy(roster_file, include / "rosters" / roster_file.name)
    cfg = stack.StackConfig.on_free_ports("humas-e2e-", include_dir=include)
    try:
        stack.up(cfg)
        sops, errors = load_sops_report(include / "sops")
        assert errors == [], errors
        stack.wait_for_dags(cfg, ["humas_dispatcher", *(s.dag_id for s in sops.values())], timeout=300)
        staff_cli.STACK[:] = [cfg]
        yield cfg
    finally:
        # `make stop` must leave nothing behind: no lingering scheduler, executor worker, server or database.
        assert stack.discard(cfg) == [], "stack processes survived stack.down()"


@pytest.fixture()
def cli_env(stack_cfg: stack.StackConfig) -> Iterator[dict[str, str]]:
    """Point the humas CLI at the test stack, as `source .stack/humas.env` does for staff."""
    env = stack.client_env(stack_cfg, stack.load_secrets(stack_cfg))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def store(stack_cfg: stack.StackConfig) -> Store:
    return stack._store(stack_cfg)


@pytest.fixture(scope="session")
def api(stack_cfg: stack.StackConfig):
    token = stack.api_token(stack_cfg)

    def get(path: str) -> dict:
        resp = stack.api_get(stack_cfg, path, token)
        resp.raise_for_status()
        return resp.json()

    return get


@pytest.fixture(scope="session")
def sandbox_posts(stack_cfg: stack.StackConfig):
    def posts() -> list[dict]:
        resp = requests.get(f"{stack_cfg.sandbox_url}/_sandbox/posts", timeout=10)
        resp.raise_for_status()
        return resp.json()["posts"] if isinstance(resp.json(), dict) else resp.json()

    return posts
