"""Print fonts: compact subsets of the system's Noto CJK faces for the PDFs.

The Noto CJK faces hold about 65,000 glyphs each. WeasyPrint embeds a subset
that keeps glyph ids, so a PDF pays for every glyph up to the highest one it
uses: a one-page notice in three faces came to about 330 KB and spent half its
time subsetting. The print fonts hold the characters of GB 2312 (the 6,763
hanzi and their symbols), ASCII, Latin-1 and the CJK and full-width
punctuation, arrows and geometric shapes (▲▼), renumbered densely.

A character outside the print fonts (a rare hanzi in a name) is still
printed: the stylesheet names the full system face after the print face, and
Pango falls back to it for that character alone.

The fonts are built once per machine (``flask print-fonts``, also run by
``make run`` and the test suite) into ``PRINT_FONT_DIR`` from the fonts that
fontconfig finds, with ``hb-subset`` (Debian's ``libharfbuzz-bin``) or, when it
is missing, fontTools (WeasyPrint's own dependency; about 30 s per face).
Until they are built, documents use the system faces, as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Face:
    file: str  # file name in PRINT_FONT_DIR
    family: str  # the family the stylesheet asks for
    weight: int
    source_family: str  # the system family it is cut from


# The three faces of an official document (GB/T 9704 in spirit): serif body,
# bold serif title, bold sans headings and table heads.
FACES = (
    Face("serif-regular.otf", "Jiedian Serif", 400, "Noto Serif CJK SC"),
    Face("serif-bold.otf", "Jiedian Serif", 700, "Noto Serif CJK SC"),
    Face("sans-bold.otf", "Jiedian Sans", 700, "Noto Sans CJK SC"),
)


def codepoints() -> list[int]:
    """ASCII, Latin-1, GB 2312 and the punctuation blocks official text uses."""
    points = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    points |= set(range(0x2010, 0x2070))  # general punctuation: dashes, quotes, ‰, ※
    points |= set(range(0x2190, 0x2200))  # arrows →
    points |= set(range(0x2460, 0x24A0))  # circled numbers ①
    points |= set(range(0x25A0, 0x2600))  # geometric shapes: ▲ ▼ ■ ● (movement in rankings)
    points |= set(range(0x3000, 0x3040))  # CJK symbols and punctuation: 、。〔〕《》
    points |= set(range(0xFF00, 0xFFF0))  # full-width forms: ，：（）
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return sorted(points)


def _system_face(family: str, weight: int) -> tuple[str, int] | None:
    """The file and collection index fontconfig picks for ``family``, if it is that family."""
    fc_weight = "bold" if weight >= 700 else "regular"
    try:
        out = subprocess.run(
            ["fc-match", "--format", "%{file}\t%{index}\t%{family}", f"{family}:{fc_weight}"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.split("\t")
    if len(parts) != 3 or family not in parts[2].split(","):
        return None
    return parts[0], int(parts[1] or 0)


def _codepoints_digest() -> str:
    """Changes when the character list does, so the fonts are cut again."""
    return hashlib.sha256(",".join(map(str, codepoints())).encode()).hexdigest()[:16]


def _stamp(path: str) -> dict:
    stat = os.stat(path)
    return {"path": path, "size": stat.st_size, "mtime": int(stat.st_mtime)}


def _subset(source: str, index: int, target: Path) -> None:
    points = codepoints()
    hb_subset = shutil.which("hb-subset")
    if hb_subset:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
            listing.write(",".join(f"{p:x}" for p in points))
        try:
            subprocess.run(
                [hb_subset, f"--font-file={source}", f"--face-index={index}", f"--unicodes-file={listing.name}",
                 "--no-hinting", "--desubroutinize", f"--output-file={target}"],
                check=True, capture_output=True, timeout=300,
            )
        finally:
            os.unlink(listing.name)
        return
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.hinting = False
    options.desubroutinize = True
    options.notdef_outline = True
    font = TTFont(source, fontNumber=index)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=points)
    subsetter.subset(font)
    font.save(str(target))


def read_manifest(directory: str | Path) -> dict:
    try:
        return json.loads((Path(directory) / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def build(directory: str | Path, *, force: bool = False) -> list[str]:
    """Cut every face that is missing or whose system source changed; return what was built.

    Each font is written to a temporary file and renamed into place, and the
    manifest last, so a renderer never sees half a font.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(directory)
    built = []
    for face in FACES:
        found = _system_face(face.source_family, face.weight)
        if found is None:
            manifest.pop(face.file, None)
            continue
        source, index = found
        stamp = _stamp(source) | {"index": index, "codepoints": _codepoints_digest()}
        if not force and manifest.get(face.file) == stamp and (directory / face.file).is_file():
            continue
        with tempfile.NamedTemporaryFile(dir=directory, suffix=".part", delete=False) as part:
            part_path = Path(part.name)
        try:
            _subset(source, index, part_path)
            part_path.chmod(0o644)  # workers may run as another user
            os.replace(part_path, directory / face.file)
        finally:
            part_path.unlink(missing_ok=True)
        manifest[face.file] = stamp
        built.append(face.file)
    part = directory / (MANIFEST + ".part")
    part.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(part, directory / MANIFEST)
    return built


def available(directory: str | Path) -> list[Face]:
    """The faces that are built and recorded in the manifest."""
    manifest = read_manifest(directory)
    return [face for face in FACES if face.file in manifest and (Path(directory) / face.file).is_file()]


def stylesheet(directory: str | Path, asset_root: str) -> str:
    """``@font-face`` rules for the built faces (empty until they are built)."""
    rules = [
        f'@font-face {{ font-family: "{face.family}"; font-weight: {face.weight}; '
        f'src: url("{asset_root}fonts/{face.file}"); }}'
        for face in available(directory)
    ]
    return "\n".join(rules) + "\n"
