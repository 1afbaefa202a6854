"""The preview sheet approvers look at: one thumbnail per asset with its name and per-channel verdict."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from humas.assets.colour import SRGB_ICC

GREEN, ORANGE, RED, INK, GREY = (0, 120, 40), (190, 100, 0), (190, 20, 20), (30, 30, 30), (235, 235, 235)
MARGIN, GAP, LINE, COLUMNS = 16, 16, 18, 4


@dataclass(frozen=True)
class Verdict:
    label: str  # "Instagram feed"
    status: str  # "OK", "OK, cek peringatan", "PERBAIKI: TOO_SMALL"
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class Tile:
    name: str
    thumbnail: Image.Image | None
    verdicts: list[Verdict] = field(default_factory=list)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size)


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """`text`, shortened with '...' until it fits `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and draw.textlength(candidate, font=font) > width:
            lines.append(current)
            candidate = word
        current = candidate
    return lines + ([current] if current else [])


def _draw_thumbnail(sheet: Image.Image, draw: ImageDraw.ImageDraw, tile: Tile, x: int, y: int, edge: int) -> None:
    draw.rectangle((x, y, x + edge - 1, y + edge - 1), fill=GREY)
    if tile.thumbnail is None:
        draw.line((x, y, x + edge - 1, y + edge - 1), fill=RED, width=3)
        draw.line((x, y + edge - 1, x + edge - 1, y), fill=RED, width=3)
        box = draw.textbbox((x + edge // 2, y + edge // 2), "TIDAK DAPAT DIBUKA", font=_font(16), anchor="mm")
        draw.rectangle((box[0] - 6, box[1] - 6, box[2] + 6, box[3] + 6), fill=(255, 255, 255))
        draw.text((x + edge // 2, y + edge // 2), "TIDAK DAPAT DIBUKA", fill=RED, font=_font(16), anchor="mm")
        return
    thumb = tile.thumbnail
    sheet.paste(thumb, (x + (edge - thumb.width) // 2, y + (edge - thumb.height) // 2))


def _draw_tile(sheet: Image.Image, draw: ImageDraw.ImageDraw, index: int, tile: Tile, x: int, y: int,
               edge: int) -> None:
    _draw_thumbnail(sheet, draw, tile, x, y, edge)
    font = _font(13)
    text_y = y + edge + 6
    draw.text((x, text_y), _fit_text(draw, f"{index}. {tile.name}", _font(14), edge), fill=INK, font=_font(14))
    for verdict in tile.verdicts:
        text_y += LINE
        line = _fit_text(draw, f"{verdict.label}: {verdict.status}", font, edge)
        draw.text((x, text_y), line, fill=verdict.colour, font=font)


def _draw_header(draw: ImageDraw.ImageDraw, item_id: str, ok: bool, width: int) -> None:
    draw.text((MARGIN, MARGIN), _fit_text(draw, f"Pratinjau desain: {item_id}", _font(22), width - 2 * MARGIN),
              fill=INK, font=_font(22))
    verdict = "SIAP TERBIT" if ok else "PERLU PERBAIKAN (lihat laporan temuan)"
    draw.text((MARGIN, MARGIN + 30), verdict, fill=GREEN if ok else RED, font=_font(18))


def preview_sheet(item_id: str, tiles: list[Tile], ok: bool, notes: list[str], edge: int) -> bytes:
    """A JPEG contact sheet: header with the verdict, a grid of tiles, then item-level notes."""
    columns = max(1, min(COLUMNS, len(tiles)))
    rows = -(-len(tiles) // columns)
    tile_height = edge + 10 + LINE * (1 + max((len(t.verdicts) for t in tiles), default=0))
    width = 2 * MARGIN + columns * edge + (columns - 1) * GAP
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    note_lines = [line for note in notes for line in _wrap(probe, note, _font(13), width - 2 * MARGIN)]
    height = MARGIN + 60 + rows * (tile_height + GAP) + LINE * len(note_lines) + MARGIN
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    _draw_header(draw, item_id, ok, width)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        _draw_tile(sheet, draw, index + 1, tile, MARGIN + column * (edge + GAP), MARGIN + 60 + row * (tile_height + GAP), edge)
    notes_y = MARGIN + 60 + rows * (tile_height + GAP)
    for number, line in enumerate(note_lines):
        draw.text((MARGIN, notes_y + number * LINE), line, fill=RED, font=_font(13))
    buf = io.BytesIO()
    sheet.save(buf, "JPEG", quality=85, icc_profile=SRGB_ICC)
    return buf.getvalue()


def frame_grid(frames: list[Image.Image], caption: str, edge: int) -> Image.Image:
    """A video's thumbnail for the sheet: up to four frames in a 2x2 grid on black, ``caption`` (its length in
    words) on a strip below, ``edge`` pixels square like the other thumbnails."""
    strip = LINE + 8
    cell_w, cell_h = edge // 2, (edge - strip) // 2
    grid = Image.new("RGB", (edge, edge), INK)
    for index, frame in enumerate(frames[:4]):
        row, column = divmod(index, 2)
        picture = frame.convert("RGB")
        picture.thumbnail((cell_w - 2, cell_h - 2))
        grid.paste(picture, (column * cell_w + (cell_w - picture.width) // 2,
                             row * cell_h + (cell_h - picture.height) // 2))
    draw = ImageDraw.Draw(grid)
    draw.text((edge // 2, edge - strip // 2), _fit_text(draw, caption, _font(14), edge - 8), fill=(255, 255, 255),
              font=_font(14), anchor="mm")
    return grid
