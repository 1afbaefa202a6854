"""Test-wide settings: Airflow reads its config from the environment, so keep it away from ~/airflow."""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="humas-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

import pytest  # noqa: E402 - after the environment above

from humas.profiles import channel_ids  # noqa: E402
from humas.sop import Sop, load_sops_report  # noqa: E402


@pytest.fixture(scope="session")
def sops() -> dict[str, Sop]:
    """The agencies' SOPs from include/sops/, every file of which must load."""
    sops, errors = load_sops_report()
    assert errors == [], errors
    return sops


@pytest.fixture(scope="session")
def channels() -> tuple[str, ...]:
    """The channel ids from include/platforms.yaml."""
    return channel_ids()
