"""Drawing a facility's service QR: PNG and SVG labelled in Thai, and an A4 poster PDF.

Thai text needs shaping (marks above and below consonants): Pillow shapes with libraqm,
fpdf2 with uharfbuzz. Fonts come from Debian's fonts-thai-tlwg.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from authencode.qr_svg import qr_matrix, svg_path
from authencode.qr_svg import render_qr_svg as render_qr_svg  # the counter pages import it here

FONT_DIRS = (Path("/usr/share/fonts/truetype/tlwg"), Path("/usr/share/fonts/truetype/thai"))
FONT_REGULAR = "Loma.ttf"
FONT_BOLD = "Loma-Bold.ttf"

# fpdf2's font subsetting logs every table it writes at DEBUG level: noise in development.
for _noisy in ("fontTools", "fpdf"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

POSTER_STEPS = (
    "1. เปิดแอป LINE แล้วเพิ่มเพื่อนบัญชีทางการของบริการ",
    "2. กดเมนู “ขอรหัสเข้ารับบริการ” ในริชเมนู",
    "3. สแกนคิวอาร์โค้ดนี้ด้วยกล้องที่เปิดขึ้น",
    "4. แสดงรหัสที่ได้รับ (Authen Code) แก่เจ้าหน้าที่",
)
POSTER_NOTE = "ต้องกรอกเลขประจำตัวประชาชนและเบอร์โทรศัพท์มือถือใน LINE ก่อนใช้งานครั้งแรก"


@dataclass(frozen=True)
class OfficialAccount:
    """The LINE official account a patient adds as a friend first (LINE_BASIC_ID)."""

    basic_id: str  # "@authencode"
    add_friend_url: str  # https://line.me/R/ti/p/@authencode

    # The poster's first step when the account's ID and QR stand at its right (the ID itself
    # is printed large under that QR: an ID of 21 characters would not fit in the line).
    first_step = "1. ในแอป LINE เพิ่มเพื่อนตาม LINE ID หรือคิวอาร์โค้ดด้านขวา"


class FontsMissing(RuntimeError):
    """The Thai fonts are not installed."""


@dataclass(frozen=True)
class QrLabel:
    hcode: str
    facility_name: str
    service_code: str
    service_name: str

    @property
    def facility_line(self) -> str:
        return f"{self.hcode} {self.facility_name}"

    @property
    def service_line(self) -> str:
        return f"{self.service_code} {self.service_name}"


@cache
def font_path(name: str) -> Path:
    for folder in FONT_DIRS:
        candidate = folder / name
        if candidate.exists():
            return candidate
    raise FontsMissing(
        f"Thai font {name} not found in {FONT_DIRS[0]}: install fonts-thai-tlwg "
        "(scripts/install-system-deps.sh)"
    )


def _qr_image(url: str, box: int) -> Image.Image:
    matrix = qr_matrix(url)
    size = len(matrix)
    image = Image.new("1", (size, size), 1)
    pixels = image.load()
    assert pixels is not None
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                pixels[x, y] = 0
    return image.resize((size * box, size * box), Image.Resampling.NEAREST)


def _fit_font(text: str, name: str, size: int, width: int) -> ImageFont.FreeTypeFont:
    while True:
        font = ImageFont.truetype(str(font_path(name)), size, layout_engine=ImageFont.Layout.RAQM)
        if font.getlength(text) <= width or size <= 12:
            return font
        size -= 2


def render_png(url: str, label: QrLabel, box: int = 12) -> bytes:
    """The QR with the facility above and the service below, as a PNG."""
    qr = _qr_image(url, box).convert("RGB")
    width = qr.width
    lines = [
        (label.facility_line, FONT_BOLD, 34),
        (label.service_name, FONT_BOLD, 38),
        (label.service_code, FONT_REGULAR, 30),
    ]
    fonts = [_fit_font(text, name, size, width - 40) for text, name, size in lines]
    heights = [int(f.size * 1.6) for f in fonts]
    canvas = Image.new("RGB", (width, qr.height + sum(heights) + 20), "white")
    draw = ImageDraw.Draw(canvas)
    y = 10
    draw.text(
        (width // 2, y + heights[0] // 2), lines[0][0], font=fonts[0], fill="black", anchor="mm"
    )
    y += heights[0]
    canvas.paste(qr, (0, y))
    y += qr.height
    for (text, _, _), font, height in zip(lines[1:], fonts[1:], heights[1:], strict=True):
        draw.text((width // 2, y + height // 2), text, font=font, fill="black", anchor="mm")
        y += height
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_svg(url: str, label: QrLabel) -> str:
    """The QR with its Thai label as a standalone SVG document."""
    matrix = qr_matrix(url)
    n = len(matrix)
    scale = 10
    width, top, bottom = n * scale, 60, 110
    font = "Loma, Garuda, 'Noto Sans Thai', sans-serif"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{width + top + bottom}" viewBox="0 0 {width} {width + top + bottom}">'
        f'<rect width="100%" height="100%" fill="#fff"/>'
        f'<text x="{width / 2}" y="40" font-family="{font}" font-size="26" font-weight="bold" '
        f'text-anchor="middle">{escape(label.facility_line)}</text>'
        f'<g transform="translate(0 {top}) scale({scale})" shape-rendering="crispEdges">'
        f'<path d="{svg_path(matrix)}" fill="#000"/></g>'
        f'<text x="{width / 2}" y="{width + top + 40}" font-family="{font}" font-size="30" '
        f'font-weight="bold" text-anchor="middle">{escape(label.service_name)}</text>'
        f'<text x="{width / 2}" y="{width + top + 85}" font-family="{font}" font-size="24" '
        f'text-anchor="middle">{escape(label.service_code)}</text>'
        "</svg>\n"
    )


def render_poster_pdf(
    items: list[tuple[str, QrLabel]], account: OfficialAccount | None = None
) -> bytes:
    """An A4 poster per service: facility, service, a large QR and short steps for patients;
    with the official account, its LINE ID and add-friend QR beside the steps."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title("Authen Code QR")
    pdf.add_font("Loma", "", str(font_path(FONT_REGULAR)))
    pdf.add_font("Loma", "B", str(font_path(FONT_BOLD)))
    pdf.set_text_shaping(True)
    for url, label in items:
        pdf.add_page()
        pdf.set_font("Loma", "B", 30)
        pdf.set_y(18)
        pdf.cell(0, 14, "สแกนขอรหัสเข้ารับบริการ", align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Loma", "B", 20)
        pdf.cell(0, 11, label.facility_name, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Loma", "", 16)
        pdf.cell(0, 9, f"รหัสหน่วยบริการ {label.hcode}", align="C", new_x="LMARGIN", new_y="NEXT")
        side = 120
        pdf.image(_qr_image(url, 10).convert("L"), x=(210 - side) / 2, y=60, w=side, h=side)
        pdf.set_y(184)
        pdf.set_font("Loma", "B", 22)
        pdf.cell(0, 12, label.service_name, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Loma", "", 16)
        pdf.cell(
            0, 9, f"ประเภทบริการ {label.service_code}", align="C", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_y(214)
        pdf.set_font("Loma", "B", 16)
        pdf.cell(0, 10, "วิธีขอรหัสเข้ารับบริการ", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Loma", "", 15)
        steps = POSTER_STEPS if account is None else (account.first_step, *POSTER_STEPS[1:])
        for step in steps:
            pdf.cell(0, 9, step, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Loma", "", 12)
        pdf.cell(0, 9, POSTER_NOTE, new_x="LMARGIN", new_y="NEXT")
        if account is not None:
            _add_friend_box(pdf, account)
    return bytes(pdf.output())


def _add_friend_box(pdf: FPDF, account: OfficialAccount) -> None:
    """The account's add-friend QR at the right of the steps, its LINE ID under it."""
    side, x, y = 34, 210 - 12 - 34, 212
    pdf.image(_qr_image(account.add_friend_url, 6).convert("L"), x=x, y=y, w=side, h=side)
    pdf.set_xy(x - 8, y + side)
    pdf.set_font("Loma", "", 11)
    pdf.cell(side + 16, 6, "เพิ่มเพื่อนใน LINE", align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Loma", "B", 14)
    pdf.cell(side + 16, 7, account.basic_id, align="C")
