"""Dropping a brief as `humas submit` does, and a file as `humas deliver` does: the submitter's claim (the bucket would let only their own identity
write it), then the brief. Tests that stand in for staff use this; a bare put of a brief has no submitter."""
from __future__ import annotations

import re

from humas import layout
from humas.store import Store
from humas.delivery import claim_delivery
from humas.submission import claim

_SUBMITTER = re.compile(rb"^submitter:\s*([a-z0-9][a-z0-9._-]*)", re.MULTILINE)


def submit_brief(store: Store, item_id: str, brief: bytes, content_type: str = "application/yaml",
                 login: str | None = None) -> None:
    """Claim ``brief`` as ``login`` (default: the brief's own ``submitter``, else skw.ayu), then drop it."""
    named = _SUBMITTER.search(brief)
    login = login or (named.group(1).decode() if named else "")
    claim(store, item_id, login if layout.LOGIN_PATTERN.fullmatch(login) else "skw.ayu", brief)
    store.put_bytes(layout.brief_key(item_id), brief, content_type)


def deliver_file(store: Store, item_id: str, name: str, data: bytes, login: str,
                 content_type: str = "application/octet-stream") -> None:
    """Deliver one file as ``login`` (their claim of its ETag, then the file), leaving the brief as it is."""
    import hashlib

    brief = store.get_bytes(layout.brief_key(item_id)) or b""
    claim_delivery(store, item_id, login, brief, {name: hashlib.md5(data, usedforsecurity=False).hexdigest()})
    store.put_bytes(layout.asset_key(item_id, name), data, content_type)
