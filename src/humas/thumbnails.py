"""Small thumbnails of items' preview sheets, for the inbox cards: made once per preview, kept in memory.

A card shows its thumbnail at 72 CSS pixels; the preview sheet is the full design (hundreds of KiB). The
thumbnail is a square crop of ``SIZE`` pixels (sharp on a phone's 2x screen), a few KiB, made from the preview
decoded at a reduced scale and kept per preview version (its ETag), so a new design gets a new thumbnail.
"""
from __future__ import annotations

import io
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

from humas import layout

if TYPE_CHECKING:
    from humas.store import Store

SIZE = 144
QUALITY = 70
MAX_PREVIEW_BYTES = 20 * 1024 * 1024


def thumbnail_jpeg(preview: bytes, size: int = SIZE) -> bytes:
    """A ``size`` x ``size`` JPEG of the middle of ``preview`` (any format Pillow reads)."""
    with Image.open(io.BytesIO(preview)) as image:
        image.draft("RGB", (size * 2, size * 2))  # a JPEG is decoded at 1/2 .. 1/8 scale: fast and small
        square = ImageOps.fit(ImageOps.exif_transpose(image).convert("RGB"), (size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    square.save(out, "JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()


class ThumbnailCache:
    """The thumbnails made so far, by item and preview version; the least recently used go beyond ``limit``."""

    def __init__(self, limit: int = 2000) -> None:
        self.limit = limit
        self._made: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: "Store", item_id: str) -> tuple[bytes, str] | None:
        """The item's thumbnail and its version tag; None when the item has no preview (yet).

        Costs one HEAD request when the thumbnail is known, and one read of the preview when it is not.
        """
        info = store.head(layout.preview_key(item_id))
        if info is None:
            return None
        key = (item_id, info.etag)
        with self._lock:
            if key in self._made:
                self._made.move_to_end(key)
                return self._made[key], info.etag
        preview = store.get_bytes(layout.preview_key(item_id), MAX_PREVIEW_BYTES)
        if not preview:
            return None
        thumb = thumbnail_jpeg(preview)
        with self._lock:
            self._made[key] = thumb
            while len(self._made) > self.limit:
                self._made.popitem(last=False)
        return thumb, info.etag
