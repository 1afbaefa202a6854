"""The humas CLI as the person a test plays: `humas submit` runs with the bucket credential of the brief's
submitter (``.stack/staff/<login>.env``), as each member of staff holds only their own."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from humas.cli import main as _humas
from humas_dev import stack

STACK: list[stack.StackConfig] = []  # set by the e2e conftest's stack_cfg fixture


def _login(argv: list[str]) -> str | None:
    """Who runs the command: ``--user`` if given, else (for ``submit``) the folder's brief's submitter."""
    if "--user" in argv:
        return argv[argv.index("--user") + 1]
    if argv[0] == "submit":
        return yaml.safe_load((Path(argv[1]) / "brief.yaml").read_text()).get("submitter")
    return None


def humas(argv: list[str]) -> int:
    """``humas argv``; a ``submit`` or ``deliver`` runs as its person (``--user``, else the brief's submitter),
    with that person's own bucket key."""
    if not argv or argv[0] not in ("submit", "deliver") or not STACK:
        return _humas(argv)
    login = _login(argv)
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
