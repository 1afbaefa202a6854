"""Counting what a store's S3 client sends: ``with SentRequests(store) as urls: ...``."""
from __future__ import annotations

from typing import Any

from humas.store import Store


class SentRequests:
    """The URLs of the S3 requests a store's client sends while in the ``with`` block."""

    def __init__(self, store: Store) -> None:
        self.store, self.urls = store, []

    def _note(self, request: Any, **_: Any) -> None:
        self.urls.append(request.url)

    def __enter__(self) -> list[str]:
        self.store.client.meta.events.register("before-send.s3", self._note)
        return self.urls

    def __exit__(self, *exc: Any) -> None:
        self.store.client.meta.events.unregister("before-send.s3", self._note)
