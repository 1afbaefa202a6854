"""The humas CLI as the person a test plays: `humas submit` runs with the bucket credential of the brief's
submitter (``.stack/staff/<login>.env``), as each member of staff holds only their own."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from humas.cli import main as _humas
from humas_dev import stack

STACK: list[stack.StackConfig] = []  # set by the e2e conftest's stack_cfg fixture


def humas(argv: list[str]) -> int:
    """``humas argv``; a ``submit`` runs as the folder's brief's submitter, with that person's own key."""
    if not argv or argv[0] != "submit" or not STACK:
        return _humas(argv)
    login = yaml.safe_load((Path(argv[1]) / "brief.yaml").read_text()).get("submitter")
    env = stack.client_env(STACK[0], stack.load_secrets(STACK[0]), login)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return _humas(argv)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
