"""QR code images of a unit's public answering address, as PNG and SVG."""
import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def unit_url(base_url: str, code: str) -> str:
    """The public address a unit's QR code points to: BASE/s/<code>."""
    return f"{base_url.rstrip('/')}/s/{code}"


def _qr(data: str) -> qrcode.QRCode:
    q = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=10)
    q.add_data(data)
    q.make(fit=True)
    return q


def qr_png(data: str) -> bytes:
    """A PNG of the QR code (10 px per module, 4-module quiet zone)."""
    buf = io.BytesIO()
    _qr(data).make_image().save(buf)
    return buf.getvalue()


def qr_svg(data: str) -> bytes:
    """An SVG of the QR code as one path, for print shops."""
    buf = io.BytesIO()
    _qr(data).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buf)
    return buf.getvalue()
