"""Sample content: a poster drawn with Pillow beside the sample brief, so a new stack has something to publish."""
from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from humas.resources import include_dir

SAMPLE_ITEM = "hut-singkawang-2026"


def draw_poster(path: Path, size: tuple[int, int] = (1080, 1350), title: str = "HARI JADI KOTA SINGKAWANG KE-25") -> Path:
    """A plain 4:5 flyer-like JPEG: coloured bands and the title, no external fonts needed."""
    image = Image.new("RGB", size, (0, 82, 147))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle([0, height * 2 // 3, width, height], fill=(242, 169, 0))
    draw.ellipse([width // 4, height // 6, width * 3 // 4, height // 6 + width // 2], fill=(255, 255, 255))
    font = ImageFont.load_default(size=max(width // 24, 10))
    draw.multiline_text((width // 12, height * 2 // 3 + 40), title.replace(" KE-", "\nKE-"), fill=(0, 0, 0), font=font)
    image.save(path, "JPEG", quality=90)
    return path


def make_sample_item(target: Path, item_id: str = SAMPLE_ITEM) -> Path:
    """Copy the sample brief to ``target/<item_id>/`` and draw its poster; return the folder."""
    folder = target / item_id
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(include_dir() / "sample" / SAMPLE_ITEM / "brief.yaml", folder / "brief.yaml")
    draw_poster(folder / "poster.jpg")
    return folder
