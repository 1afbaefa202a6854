"""Design-asset checks and platform renditions (plain Python; no Airflow imports).

    review = check_assets("2026-11-22-hut-kota", [("poster.jpg", data)], ["instagram", "x"], caption)
    review.ok, review.blocking_for("x"), review.renditions, review.preview, review.to_markdown()

Codes, messages and the crop/pad policy: docs/asset-checks.md.
"""
from __future__ import annotations

from humas.assets.caption import check_caption
from humas.assets.check import check_assets
from humas.assets.codes import CODES
from humas.assets.conformance import rendition_problems
from humas.assets.limits import DEFAULT_LIMITS, Limits
from humas.assets.model import AssetReview, Finding, Rendition

__all__ = [
    "CODES",
    "DEFAULT_LIMITS",
    "AssetReview",
    "Finding",
    "Limits",
    "Rendition",
    "check_assets",
    "check_caption",
    "rendition_problems",
]
