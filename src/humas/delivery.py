"""Deliveries: what a person hands a waiting work step (the narration, photos, design files), and who did.

A delivery goes where everything about the item already is, so what approvers sign covers it: the narration
is the brief's ``caption`` and the files are listed in the brief's ``assets`` (in post order) and dropped
beside it in ``inbox/<item>/``. ``humas deliver`` does both and marks every object it writes with the
person's login (object metadata ``x-amz-meta-humas-by``); someone editing the brief or dropping files with
another tool can do the same by hand.

``delivered_by`` is the one answer to "who delivered this file". Today it reads what the uploader claims in
the metadata; when the bucket tells the uploader's identity itself, only this function changes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import yaml

from humas.yamlio import load_strict

if TYPE_CHECKING:
    from humas.store import Store

BY_METADATA = "humas-by"  # written as the header x-amz-meta-humas-by
_MAX_LOGIN = 80


def by_metadata(login: str) -> dict[str, str]:
    """The object metadata that names ``login`` as the person delivering the object."""
    return {BY_METADATA: login}


def delivered_by(store: "Store", key: str) -> str | None:
    """Who delivered the object at ``key``, as far as the bucket tells; None when it does not say."""
    value = (store.metadata(key) or {}).get(BY_METADATA, "").strip()
    return value[:_MAX_LOGIN] if value and value.isprintable() else None


def brief_with_delivery(brief_text: bytes, caption: str | None, files: Iterable[str]) -> bytes:
    """The brief with the narration set (when given) and ``files`` added to its assets (once, in order).

    The brief is written again from its fields, so comments in it are not kept.
    """
    raw = dict(load_strict(brief_text) or {})
    if caption is not None:
        raw["caption"] = caption
    assets = list(dict.fromkeys([*(a for a in raw.get("assets") or [] if isinstance(a, str)), *files]))
    if assets:
        raw["assets"] = assets
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False).encode()
