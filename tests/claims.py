"""Dropping a brief as `humas submit` does: the submitter's claim (the bucket would let only their own identity
write it), then the brief. Tests that stand in for staff use this; a bare put of a brief has no submitter."""
from __future__ import annotations

import re

from humas import layout
from humas.store import Store
from humas.submission import claim

_SUBMITTER = re.compile(rb"^submitter:\s*([a-z0-9][a-z0-9._-]*)", re.MULTILINE)


def submit_brief(store: Store, item_id: str, brief: bytes, content_type: str = "application/yaml",
                 login: str | None = None) -> None:
    """Claim ``brief`` as ``login`` (default: the brief's own ``submitter``, else skw.ayu), then drop it."""
    named = _SUBMITTER.search(brief)
    login = login or (named.group(1).decode() if named else "")
    claim(store, item_id, login if layout.LOGIN_PATTERN.fullmatch(login) else "skw.ayu", brief)
    store.put_bytes(layout.brief_key(item_id), brief, content_type)
