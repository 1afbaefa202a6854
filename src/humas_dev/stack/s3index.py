"""Two costs of moto's server that MinIO does not have, removed so the embedded stack scales like production.

- A listing with a prefix reads every key of the bucket (``S3Backend.list_objects`` walks ``bucket.keys``), so
  each ``inbox/<item>/`` listing costs as much as the whole bucket and a burst of items slows down as the bucket
  fills. MinIO reads only the prefix. Here each bucket keeps its key names sorted, and a listing with a prefix
  hands moto's own listing code only the keys under the prefix (same results, same order, same paging).
- Every request looks up its backend by listing moto's package directory (``list_of_moto_modules``: ~150
  ``isdir`` calls, under the dispatcher's lock). The package does not change while the server runs: read once.

``install()`` must run before the first bucket is made (``humas_dev.stack.s3server.main`` calls it).
tests/integration/test_s3index.py compares its listings with plain moto's.
"""
from __future__ import annotations

import bisect
import functools
import threading
from typing import Any, Iterator


def _upper_bound(prefix: str) -> str:
    """The smallest string greater than every string that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _indexed_store(base: type) -> type:
    class IndexedKeyStore(base):  # type: ignore[valid-type, misc]
        """moto's versioned key store with its key names also kept sorted."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._names = sorted(dict.keys(self))
            self._names_lock = threading.Lock()

        def _add_name(self, key: str) -> None:
            with self._names_lock:
                at = bisect.bisect_left(self._names, key)
                if at == len(self._names) or self._names[at] != key:
                    self._names.insert(at, key)

        def _drop_name(self, key: str) -> None:
            with self._names_lock:
                at = bisect.bisect_left(self._names, key)
                if at < len(self._names) and self._names[at] == key:
                    del self._names[at]

        def __setitem__(self, key: str, value: Any) -> None:
            super().__setitem__(key, value)
            self._add_name(key)

        def setlist(self, key: str, list_: Any) -> None:
            super().setlist(key, list_)
            self._add_name(key)

        def pop(self, key: str, *default: Any) -> Any:  # type: ignore[override]
            try:
                return super().pop(key, *default)
            finally:
                if not dict.__contains__(self, key):
                    self._drop_name(key)

        def __delitem__(self, key: str) -> None:
            super().__delitem__(key)
            self._drop_name(key)

        def under(self, prefix: str) -> list[tuple[str, Any]]:
            """(name, latest version) of every key starting with ``prefix``, in name order."""
            with self._names_lock:
                names = self._names[bisect.bisect_left(self._names, prefix):
                                    bisect.bisect_left(self._names, _upper_bound(prefix))]
            return [(name, versions[-1]) for name in names
                    if (versions := dict.get(self, name))]

    return IndexedKeyStore


class _Entries:
    """What moto's ``list_objects`` reads from ``bucket.keys``: its ``items()``."""

    def __init__(self, entries: list[tuple[str, Any]]) -> None:
        self._entries = entries

    def items(self) -> Iterator[tuple[str, Any]]:
        return iter(self._entries)


class _UnderPrefix:
    """A bucket seen through one prefix: its keys are only those under the prefix; all else is the bucket's."""

    def __init__(self, bucket: Any, prefix: str) -> None:
        self._bucket, self.keys = bucket, _Entries(bucket.keys.under(prefix))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bucket, name)


def install() -> None:
    """Patch moto (this process only): indexed key stores for new buckets, prefix listings through them, and
    the backend lookup's directory listing read once."""
    from moto import backends
    from moto.s3 import models

    if getattr(models.S3Backend.list_objects, "humas_indexed", False):
        return
    models._VersionedKeyStore = _indexed_store(models._VersionedKeyStore)  # noqa: SLF001 - what FakeBucket uses
    original = models.S3Backend.list_objects

    @functools.wraps(original)
    def list_objects(self: Any, bucket: Any, prefix: str | None, *args: Any, **kwargs: Any) -> Any:
        if prefix and hasattr(bucket.keys, "under") and not isinstance(bucket, models.FakeTableStorageBucket):
            bucket = _UnderPrefix(bucket, prefix)
        return original(self, bucket, prefix, *args, **kwargs)

    list_objects.humas_indexed = True  # type: ignore[attr-defined]
    models.S3Backend.list_objects = list_objects
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
