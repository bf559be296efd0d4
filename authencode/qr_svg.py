"""QR codes (the qrcode library) as module matrices and SVG: the clinic's QR codes and
posters (clinic_qr.qr_render) and the landing page's add-friend code draw them alike."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M

BORDER = 4  # quiet zone, in modules


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR's modules, quiet zone included (medium error correction)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=BORDER)
    code.add_data(url)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def svg_path(matrix: list[list[bool]]) -> str:
    """The dark modules as one path of unit squares (runs of a row merged)."""
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return "".join(parts)


def render_qr_svg(url: str) -> str:
    """The bare QR as SVG (the counter display, the landing page)."""
    matrix = qr_matrix(url)
    n = len(matrix)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" '
        f'shape-rendering="crispEdges"><rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path d="{svg_path(matrix)}" fill="#000"/></svg>'
    )
