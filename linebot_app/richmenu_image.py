"""Drawing rich menu images with Pillow: Thai labels on a grid of tiles, within LINE's limits.

LINE takes a JPEG or PNG of at most 1 MB whose size equals the menu's (2500x1686 or
2500x843 here). Thai text needs a Thai font: Debian's fonts-thai-tlwg (Garuda, Loma) are
looked up, or a font file is given explicitly.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

MAX_IMAGE_BYTES = 1024 * 1024
THAI_FONT_DIRS = (Path("/usr/share/fonts/truetype/tlwg"), Path("/usr/share/fonts/opentype/tlwg"))
THAI_FONT_FILES = (
    "Garuda-Bold.ttf",
    "Loma-Bold.ttf",
    "Garuda.ttf",
    "Loma.ttf",
    "Garuda-Bold.otf",
    "Loma-Bold.otf",
)
BACKGROUND = "#eef4f1"
GAP = 24


class FontMissing(Exception):
    """No Thai font to draw the menu labels with."""


@dataclass(frozen=True)
class Tile:
    """One tappable tile as drawn: its Thai label, a smaller line under it, colour and icon."""

    label: str
    caption: str
    color: str
    icon: str  # one of ICONS


def find_thai_font(explicit: str | Path | None = None) -> Path:
    """The font file to draw Thai with; raises FontMissing with what to install."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise FontMissing(f"font file not found: {path}")
        return path
    for folder in THAI_FONT_DIRS:
        for name in THAI_FONT_FILES:
            if (folder / name).is_file():
                return folder / name
    raise FontMissing(
        "no Thai font found in /usr/share/fonts/truetype/tlwg: install Debian's "
        "fonts-thai-tlwg (apt-get install fonts-thai-tlwg), or pass --font PATH"
    )


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    # Raqm shapes Thai (vowels and tone marks stacked correctly); basic layout is the fallback.
    engine = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(path), size, layout_engine=engine)


def _fitted(
    draw: ImageDraw.ImageDraw, text: str, path: Path, size: int, max_width: int
) -> ImageFont.FreeTypeFont:
    font = _font(path, size)
    while size > 24 and draw.textlength(text, font=font) > max_width:
        size -= 6
        font = _font(path, size)
    return font


def grid(width: int, height: int, cols: int, rows: int) -> list[tuple[int, int, int, int]]:
    """Cells (x, y, w, h) covering the whole image, left to right then top to bottom."""
    cells = []
    for row in range(rows):
        top, bottom = height * row // rows, height * (row + 1) // rows
        for col in range(cols):
            left, right = width * col // cols, width * (col + 1) // cols
            cells.append((left, top, right - left, bottom - top))
    return cells


def draw_menu(
    size: tuple[int, int],
    cells: Sequence[tuple[int, int, int, int]],
    tiles: Sequence[Tile],
    font_path: Path,
) -> Image.Image:
    """The menu image: each tile drawn inside its cell (the cells are the tappable areas)."""
    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    for (x, y, w, h), tile in zip(cells, tiles, strict=True):
        box = (x + GAP, y + GAP, x + w - GAP, y + h - GAP)
        draw.rounded_rectangle(box, radius=48, fill=tile.color)
        inner_w = w - 4 * GAP
        icon_size = min(w, h) // 3
        cx = x + w // 2
        icon_top = y + h // 2 - icon_size // 2 - h // 7
        _ICONS[tile.icon](draw, cx, icon_top + icon_size // 2, icon_size, font_path)
        label_font = _fitted(draw, tile.label, font_path, max(60, h // 8), inner_w)
        label_y = icon_top + icon_size + h // 14
        draw.text((cx, label_y), tile.label, font=label_font, fill="white", anchor="mt")
        if tile.caption:
            caption_font = _fitted(draw, tile.caption, font_path, max(40, h // 15), inner_w)
            caption_y = label_y + int(label_font.size * 1.45)
            draw.text((cx, caption_y), tile.caption, font=caption_font, fill="#e8fff4", anchor="mt")
    return image


def encode(image: Image.Image) -> tuple[bytes, str]:
    """PNG when it fits in 1 MB (flat colours compress well), else JPEG; (data, mime type)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    if buffer.tell() <= MAX_IMAGE_BYTES:
        return buffer.getvalue(), "image/png"
    for quality in (90, 80, 70, 60):
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=quality, optimize=True)
        if buffer.tell() <= MAX_IMAGE_BYTES:
            return buffer.getvalue(), "image/jpeg"
    raise ValueError("the rich menu image does not fit in 1 MB")


# --- icons: simple white line drawings centred on (cx, cy) --------------------------------


def _icon_qr(draw: ImageDraw.ImageDraw, cx: int, cy: int, s: int, _f: Path) -> None:
    half, unit = s // 2, s // 7
    left, top = cx - half, cy - half
    for dx, dy in ((0, 0), (4, 0), (0, 4)):
        x0, y0 = left + dx * unit, top + dy * unit
        draw.rectangle((x0, y0, x0 + 3 * unit, y0 + 3 * unit), outline="white", width=unit // 2)
        draw.rectangle((x0 + unit, y0 + unit, x0 + 2 * unit, y0 + 2 * unit), fill="white")
    for dx, dy in ((4, 4), (5, 5), (6, 4), (4, 6), (6, 6)):
        x0, y0 = left + dx * unit, top + dy * unit
        draw.rectangle((x0, y0, x0 + unit - 4, y0 + unit - 4), fill="white")


def _icon_card(draw: ImageDraw.ImageDraw, cx: int, cy: int, s: int, _f: Path) -> None:
    w, h = s, int(s * 0.68)
    draw.rounded_rectangle(
        (cx - w // 2, cy - h // 2, cx + w // 2, cy + h // 2),
        radius=s // 12,
        outline="white",
        width=s // 18,
    )
    draw.ellipse(
        (cx - w // 2 + s // 10, cy - s // 8, cx - w // 2 + s // 10 + s // 4, cy + s // 8),
        fill="white",
    )
    for i in range(3):
        y = cy - s // 8 + i * s // 8
        draw.line((cx - s // 20, y, cx + w // 2 - s // 10, y), fill="white", width=s // 24)


def _icon_clock(draw: ImageDraw.ImageDraw, cx: int, cy: int, s: int, _f: Path) -> None:
    r = s // 2
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline="white", width=s // 14)
    draw.line((cx, cy, cx, cy - int(r * 0.6)), fill="white", width=s // 14)
    draw.line((cx, cy, cx + int(r * 0.45), cy + int(r * 0.2)), fill="white", width=s // 14)


def _icon_family(draw: ImageDraw.ImageDraw, cx: int, cy: int, s: int, _f: Path) -> None:
    for dx, scale in ((-s // 4, 1.0), (s // 4, 1.0), (0, 0.7)):
        r = int(s * 0.13 * scale)
        hx, hy = cx + dx, cy - s // 6 + (s // 10 if scale < 1 else 0)
        draw.ellipse((hx - r, hy - r, hx + r, hy + r), fill="white")
        bw = int(s * 0.2 * scale)
        draw.pieslice((hx - bw, hy + r + 6, hx + bw, hy + r + 6 + 2 * bw), 180, 360, fill="white")


def _glyph(text: str) -> Callable[[ImageDraw.ImageDraw, int, int, int, Path], None]:
    def draw_glyph(draw: ImageDraw.ImageDraw, cx: int, cy: int, s: int, font_path: Path) -> None:
        r = s // 2
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline="white", width=s // 16)
        font = _fitted(
            draw, text, font_path, int(s * (0.62 if len(text) == 1 else 0.3)), int(s * 0.8)
        )
        draw.text((cx, cy), text, font=font, fill="white", anchor="mm")

    return draw_glyph


def _icon_consent(draw: ImageDraw.ImageDraw, cx: int, cy: int, s: int, _f: Path) -> None:
    w, h = int(s * 0.7), s
    draw.rounded_rectangle(
        (cx - w // 2, cy - h // 2, cx + w // 2, cy + h // 2),
        radius=s // 14,
        outline="white",
        width=s // 18,
    )
    for i in range(3):
        y = cy - h // 4 + i * s // 8
        draw.line((cx - w // 3, y, cx + w // 3, y), fill="white", width=s // 26)
    draw.line(
        (cx - w // 5, cy + h // 4, cx - w // 20, cy + h // 4 + s // 10, cx + w // 4, cy + h // 8),
        fill="white",
        width=s // 16,
        joint="curve",
    )


_ICONS = {
    "qr": _icon_qr,
    "card": _icon_card,
    "clock": _icon_clock,
    "family": _icon_family,
    "howto": _glyph("?"),
    "phone": _glyph("1330"),
    "consent": _icon_consent,
}
ICONS = frozenset(_ICONS)
