"""The Chinese catalog is complete, compiled, and in the folder Babel reads."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "portal" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"


def _po():
    with open(CATALOG / "messages.po", "rb") as fh:
        return read_po(fh)


def _key(value):
    """A message id or string as one hashable value: plural entries come as lists from the .mo, tuples from the .po."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _translated(string) -> bool:
    return all(string) if isinstance(string, (list, tuple)) else bool(string)


def test_every_message_is_translated():
    missing = [m.id for m in _po() if m.id and not _translated(m.string)]
    assert missing == []


def test_every_string_in_the_code_is_in_the_catalog(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
         "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with open(pot, "rb") as fh:
        wanted = {_key(m.id) for m in read_po(fh) if m.id}
    known = {_key(m.id) for m in _po() if m.id}
    assert sorted(map(str, wanted - known)) == [], "run `make translations` and translate the new strings"


def test_compiled_catalog_matches_the_source():
    with open(CATALOG / "messages.mo", "rb") as fh:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(io.BytesIO(fh.read())) if m.id}
    source = {_key(m.id): _key(m.string) for m in _po() if m.id}
    assert compiled == source, "run `pybabel compile -d portal/translations`"
