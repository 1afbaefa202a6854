"""Deliveries: what a person hands a waiting work step (the narration, photos, design files), and who did.

A delivery goes where everything about the item already is, so what approvers sign covers it: the narration
is the brief's ``caption`` and the files are listed in the brief's ``assets`` (in post order) and dropped
beside it in ``inbox/<item>/``.

Who delivered is what the bucket server vouches for, never what an object says about itself. ``humas deliver``
first writes the person's delivery claim with their own bucket credential
(``claims/<item>/deliveries/<stamp>/<login>.json``: the bucket lets an identity write only claims whose name
ends in its own login), naming the sha256 of the brief it is about to write and the ETag of each file it is
about to upload (computed beforehand, as the server computes it), then the files, then the brief: a step that
wakes on the files finds the claim already there; the claim is written once more when all is up.

``delivered_by`` is the one answer to "who delivered this file": the people whose own claim (a delivery, or the
submission for what came with the item) names the object as it is now. Object metadata naming someone
(``x-amz-meta-humas-by``, which any staff credential can write) or a claim of other bytes (the object changed
since) is not trusted: it comes back as a doubt, in Bahasa Indonesia.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Mapping

import yaml

from humas import layout
from humas.status import utcnow
from humas.submission import Claim, read_claims
from humas.yamlio import load_strict

if TYPE_CHECKING:
    from pathlib import Path

    from humas.store import Store

BY_METADATA = "humas-by"  # x-amz-meta-humas-by: what older deliveries wrote, shown as a claim no one vouches for
PART_BYTES = 8 * 1024 * 1024  # `humas deliver` uploads in parts of this size (boto3's default), so the ETag is known
_MAX_LOGIN = 80


@dataclass(frozen=True)
class Deliverer:
    """Who delivered one object as it is now: the people whose own claim names it (latest first), or why nobody."""

    logins: tuple[str, ...] = ()
    doubt: str = ""  # Bahasa Indonesia; set when ``logins`` is empty

    @property
    def login(self) -> str | None:
        return self.logins[0] if self.logins else None


def etag_of(path: "Path", part_bytes: int = PART_BYTES) -> str:
    """The ETag the bucket gives ``path`` uploaded in parts of ``part_bytes`` (one PUT below that size)."""
    digests = []
    with path.open("rb") as f:
        while block := f.read(part_bytes):
            digests.append(hashlib.md5(block, usedforsecurity=False).digest())
    if path.stat().st_size < part_bytes:
        return (digests[0] if digests else hashlib.md5(b"", usedforsecurity=False).digest()).hex()
    return f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}"


def claim_delivery(store: "Store", item_id: str, login: str, brief_bytes: bytes, files: Mapping[str, str],
                   at: datetime | None = None, complete: bool = False) -> dict[str, object]:
    """Write ``login``'s delivery claim: the brief about to be written and the files (name -> ETag) about to be
    uploaded. Only ``login``'s own bucket identity may write it. Written again, ``complete``, once the files and
    the brief are up: a step that refused the folder waits for a change of the claims, not of the folder (a
    delivery of the very bytes already there changes no file)."""
    at = at or utcnow()
    record = {"item_id": item_id, "login": login, "brief_sha256": hashlib.sha256(brief_bytes).hexdigest(),
              "files": dict(files), "at": at.isoformat(), "complete": complete}
    store.put_json(layout.delivery_claim_key(item_id, login, at), record)
    return record


def delivered_by(store: "Store", item_id: str, names: Iterable[str], brief_bytes: bytes | None = None,
                 folder: Mapping[str, str] | None = None, claims: Iterable[Claim] | None = None
                 ) -> dict[str, Deliverer]:
    """Who delivered each of ``names`` (``brief.yaml`` or a file of the item's folder) as it is now, as far as
    the bucket vouches. What the caller has read already is not read again: ``brief_bytes`` (the brief),
    ``folder`` (the item's folder: key -> ETag) and ``claims`` (``read_claims``); default: read each now."""
    names = list(names)
    claims = sorted(read_claims(store, item_id) if claims is None else claims,
                    key=lambda c: str(c.record.get("at", "")), reverse=True)
    prefix = layout.item_prefix(item_id)
    if folder is None:
        folder = {o.key: o.etag for o in store.list(prefix)}
    now = {key[len(prefix):]: etag for key, etag in folder.items()}
    if layout.BRIEF_NAME in names:
        brief = brief_bytes if brief_bytes is not None else store.get_bytes(layout.brief_key(item_id))
        now[layout.BRIEF_NAME] = hashlib.sha256(brief).hexdigest() if brief is not None else ""
    return {name: _deliverer(store, item_id, name, now.get(name, ""), claims) for name in names}


def _claimed(claim: Claim, name: str) -> str | None:
    """What ``claim`` says ``name`` was when its person delivered it (sha256 for the brief, else the ETag)."""
    if name == layout.BRIEF_NAME:
        return claim.record.get("brief_sha256")
    files = claim.record.get("files")
    return files.get(name) if isinstance(files, dict) else None


def _deliverer(store: "Store", item_id: str, name: str, now: str, claims: list[Claim]) -> Deliverer:
    vouched = tuple(dict.fromkeys(c.login for c in claims if now and _claimed(c, name) == now))
    if vouched:
        return Deliverer(vouched)
    shown = "brief.yaml (narasi dan daftar berkas)" if name == layout.BRIEF_NAME else name
    earlier = ", ".join(dict.fromkeys(c.login for c in claims if _claimed(c, name)))
    named = _metadata_login(store, layout.brief_key(item_id) if name == layout.BRIEF_NAME
                            else layout.asset_key(item_id, name))
    if named:
        return Deliverer(doubt=f"{shown} mengaku diserahkan oleh {named} (metadata berkas), tetapi tidak ada klaim "
                               f"{named} untuk isi ini: tidak terverifikasi"
                               + (f" (menggantikan yang diserahkan {earlier})" if earlier else ""))
    if earlier:
        return Deliverer(doubt=f"{shown} tidak sama dengan yang diserahkan {earlier}: diubah sesudahnya oleh pihak "
                               "yang tidak mengklaimnya")
    return Deliverer(doubt=f"{shown} tidak diserahkan lewat `humas deliver`: pengirimnya tidak terverifikasi")


def _metadata_login(store: "Store", key: str) -> str | None:
    """The login an object's metadata names (anyone who may write it may write that), for the doubt only."""
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
