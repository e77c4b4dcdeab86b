"""The county's settings for its printed documents (GB/T 9704-2012): who issues them, 抄送, the seal.

Held in ``county_setting`` rows (``document.office``, ``document.cc``,
``document.printer``, ``document.seal``) and set by an administrator on the
administration overview (``admin/services.set_document_layout`` and
``set_seal``). Unset, the issuing organ is ``JIEDIAN_OFFICE_NAME``.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from portal.core.errors import Refused
from portal.core.extensions import db
from portal.core.storage import store_file
from portal.models import CountySetting

KEYS = {"office": "document.office", "cc": "document.cc", "printer": "document.printer", "seal": "document.seal"}
SEAL_MAX_BYTES = 2 * 1024 * 1024
SEAL_MAX_PIXELS = 2000  # a seal scanned at 600 dpi is about 1,000 pixels across
SEAL_MIN_PIXELS = 100
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SEAL_URL = "jiedian-asset:/seal.png"


@dataclass(frozen=True)
class DocumentLayout:
    office: str  # 发文机关全称: the 版头 and the signature
    cc: str  # 抄送机关, comma-separated as printed; empty: no 抄送 line
    printer: str  # 印发机关
    seal_url: str | None  # the uploaded seal, as the renderer fetches it; None: room for the paper seal


def _value(key: str):
    row = db.session.get(CountySetting, KEYS[key])
    return row.value if row is not None else None


def default_office() -> str:
    return current_app.config.get("JIEDIAN_OFFICE_NAME") or "县委县政府督查室"


def seal_path() -> Path | None:
    """The stored seal image, when one is configured and its file is there."""
    seal = _value("seal")
    if not isinstance(seal, dict) or not seal.get("sha256"):
        return None
    path = _seal_dir() / f"{seal['sha256']}.png"
    return path if path.is_file() else None


def current() -> DocumentLayout:
    office = (_value("office") or "").strip() or default_office()
    return DocumentLayout(
        office=office,
        cc=(_value("cc") or "").strip(),
        printer=(_value("printer") or "").strip() or office,
        seal_url=SEAL_URL if seal_path() is not None else None,
    )


def settings() -> dict:
    """The settings as an administrator edits them (empty where the default applies)."""
    seal = _value("seal")
    return {"office": _value("office") or "", "cc": _value("cc") or "", "printer": _value("printer") or "",
            "seal": seal if isinstance(seal, dict) else None, "default_office": default_office()}


def _put(key: str, value, actor_id: int | None, now) -> None:
    row = db.session.get(CountySetting, KEYS[key])
    if row is None:
        row = CountySetting(key=KEYS[key])
        db.session.add(row)
    row.value, row.updated_at, row.updated_by_id = value, now, actor_id


def save_texts(actor_id: int | None, office: str, cc: str, printer: str, *, now) -> tuple[dict, dict]:
    """Store the texts (the form has checked them); returns (before, after) for the audit entry."""
    before = {k: _value(k) or "" for k in ("office", "cc", "printer")}
    after = {"office": office.strip(), "cc": cc.strip(), "printer": printer.strip()}
    for key, value in after.items():
        if value != before[key]:
            _put(key, value, actor_id, now)
    db.session.flush()
    return before, after


def _seal_dir() -> Path:
    return Path(current_app.config["DOCUMENT_DIR"]) / "seal"


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG from its IHDR chunk, or None when it is not a PNG."""
    if len(data) < 33 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def check_seal(data: bytes) -> tuple[int, int]:
    """Refuse (422, in Chinese) anything but a PNG of a sensible size; returns its pixel size."""
    if not data:
        raise Refused(422, _("Please choose the seal image (a PNG file)."))
    if len(data) > SEAL_MAX_BYTES:
        raise Refused(422, _("The seal image may be at most %(size)d MB.", size=SEAL_MAX_BYTES // (1024 * 1024)))
    size = png_size(data)
    if size is None:
        raise Refused(422, _("The seal image must be a PNG file (with a transparent background)."))
    width, height = size
    if not (SEAL_MIN_PIXELS <= width <= SEAL_MAX_PIXELS and SEAL_MIN_PIXELS <= height <= SEAL_MAX_PIXELS):
        raise Refused(422, _("The seal image must be between %(low)d and %(high)d pixels wide and high.",
                             low=SEAL_MIN_PIXELS, high=SEAL_MAX_PIXELS))
    if max(width, height) > 1.25 * min(width, height):
        raise Refused(422, _("A seal is round: its image must be about as wide as it is high."))
    return size


def save_seal(actor_id: int | None, data: bytes, *, now) -> tuple[dict | None, dict]:
    """Check and store a seal image; returns (before, after) for the audit entry."""
    width, height = check_seal(data)
    digest = hashlib.sha256(data).hexdigest()
    store_file(_seal_dir(), f"{digest}.png", data)
    before = _value("seal")
    after = {"sha256": digest, "size": len(data), "width": width, "height": height}
    _put("seal", after, actor_id, now)
    db.session.flush()
    return before, after


def remove_seal(actor_id: int | None, *, now) -> dict | None:
    """Stop printing the seal (documents get room for the paper seal again); returns what was set."""
    before = _value("seal")
    if before:
        _put("seal", None, actor_id, now)
        db.session.flush()
    return before
