"""Where the project's data files live (SOPs, platform profiles, sample content)."""
from __future__ import annotations

import os
from pathlib import Path


def include_dir() -> Path:
    """``$HUMAS_INCLUDE_DIR`` if set (containers mount it), else the repo's ``include/``."""
    configured = os.environ.get("HUMAS_INCLUDE_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "include"


def sops_dir() -> Path:
    return include_dir() / "sops"


def platforms_file() -> Path:
    return include_dir() / "platforms.yaml"
