"""Who submitted an item: the person whose own bucket identity claimed it, never a brief field on its own.

``humas submit`` uploads the design files, then writes ``claims/<item>/<login>.json`` with the person's own
bucket credential (the bucket lets each identity write only the claims named after it: see the bucket
policies), then the brief. The claim names the sha256 of the brief and the ETag of every file as uploaded.
The pipeline takes as submitter the one person whose claim matches the brief and files in the inbox now; a
brief naming someone else, files changed by another hand since, or no matching claim are refused with the
reason.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from humas import layout
from humas.brief import read_brief_bytes
from humas.exceptions import Problem
from humas.status import utcnow

if TYPE_CHECKING:
    from humas.store import ObjectInfo, Store

MAX_CLAIM_BYTES = 64 * 1024
SUBMIT_FIX = "ajukan item dengan `humas submit` memakai kredensial bucket Anda sendiri (lihat README)"


def claim(store: "Store", item_id: str, login: str, brief_bytes: bytes) -> dict[str, Any]:
    """Write ``login``'s claim of the item: the brief about to be dropped and the files the inbox holds now."""
    files = {o.key[len(layout.item_prefix(item_id)):]: o.etag for o in store.list(layout.item_prefix(item_id))}
    files.pop(layout.BRIEF_NAME, None)
    record = {"item_id": item_id, "login": login, "brief_sha256": hashlib.sha256(brief_bytes).hexdigest(),
              "files": files, "at": utcnow().isoformat()}
    store.put_json(layout.claim_key(item_id, login), record)
    return record


@dataclass(frozen=True)
class Claim:
    """One claim as the bucket holds it: ``login`` is what its key names, so the server vouches for it."""

    login: str
    record: dict[str, Any]
    delivery: bool  # a delivery (``humas deliver``), else the submission


def list_claims(store: "Store", item_id: str) -> dict[str, str]:
    """The item's claim objects: key -> ETag."""
    return {o.key: o.etag for o in store.list(layout.claims_prefix(item_id))}


def read_claims(store: "Store", item_id: str, listed: Mapping[str, str] | None = None) -> list[Claim]:
    """Every readable claim of the item, the submission's and the deliveries': of ``listed`` (``list_claims``
    as the caller listed them), default of those there now."""
    found: list[Claim] = []
    for key in list_claims(store, item_id) if listed is None else listed:
        direct = layout.login_from_claim_key(item_id, key)
        login = direct or layout.login_from_delivery_claim_key(item_id, key)
        data = store.get_bytes(key, MAX_CLAIM_BYTES) if login else None
        try:
            record = json.loads(data) if data else None
        except ValueError:
            record = None
        if login and isinstance(record, dict):
            found.append(Claim(login, record, delivery=direct is None))
    return found


def _claims(store: "Store", item_id: str) -> dict[str, dict[str, Any]]:
    """The submission claims of the item by login."""
    return {c.login: c.record for c in read_claims(store, item_id) if not c.delivery}


def sole_claimant(store: "Store", item_id: str) -> str | None:
    """The one person who claimed to submit the item, or None when nobody or several did."""
    logins = list(_claims(store, item_id))
    return logins[0] if len(logins) == 1 else None


def _matching(store: "Store", item_id: str, brief_digest: str) -> dict[str, dict[str, Any]]:
    """The submission claims of the item whose brief is the one with ``brief_digest``, by login."""
    return {login: c for login, c in _claims(store, item_id).items() if c.get("brief_sha256") == brief_digest}


def uploader(store: "Store", item_id: str) -> str | None:
    """The one person whose own claim is of the brief the inbox holds now (whom a refusal of it is for), or None
    when nobody or several claimed it."""
    data = read_brief_bytes(store, item_id)  # bounded: an oversized brief matches no claim, nothing is held
    matching = list(_matching(store, item_id, hashlib.sha256(data).hexdigest())) if data is not None else []
    return matching[0] if len(matching) == 1 else None


def verified_submitter(store: "Store", item_id: str, brief_digest: str, named: str,
                       files: Mapping[str, "ObjectInfo"] | None = None) -> tuple[str | None, list[Problem]]:
    """The login that submitted the item as it is now, or None and the problems (in Bahasa Indonesia).

    ``brief_digest``: sha256 of the brief now; ``named``: the brief's ``submitter``; ``files``: the item's
    files now by name (the brief included or not), each checked against the claim; None: not checked.
    """
    matching = _matching(store, item_id, brief_digest)
    if not matching:
        return None, [Problem("submitter", "tidak ada pengaju terverifikasi untuk brief.yaml ini (brief diunggah "
                              "tanpa `humas submit`, atau diubah orang lain sesudahnya)", SUBMIT_FIX)]
    if len(matching) > 1:
        return None, [Problem("submitter", f"lebih dari satu orang mengajukan brief yang sama: {', '.join(sorted(matching))}",
                              "satu item diajukan satu orang: yang lain memakai folder item baru")]
    (login, record), = matching.items()
    problems = _file_problems(login, record, files) if files is not None else []
    if named != login:
        problems.insert(0, Problem("submitter", f"brief menyebut {named[:60]!r} sebagai pengaju, tetapi yang "
                                   f"mengunggah adalah {login}", f"tulis submitter: {login} (login Anda sendiri); "
                                   "item orang lain diajukan oleh orang itu sendiri"))
    return (login if not problems else None), problems


def _file_problems(login: str, record: Mapping[str, Any], files: Mapping[str, "ObjectInfo"]) -> list[Problem]:
    """Files of the inbox that are not as ``login`` uploaded them (changed or added by another hand)."""
    claimed = record.get("files") if isinstance(record.get("files"), dict) else {}
    changed = sorted(name for name, obj in files.items()
                     if name != layout.BRIEF_NAME and claimed.get(name) != obj.etag)
    if not changed:
        return []
    return [Problem("assets", f"berkas {', '.join(changed[:5])} tidak sama dengan yang diajukan {login} "
                    "(diunggah atau diubah sesudahnya)", f"{login} mengajukan ulang dengan `humas submit`")]
