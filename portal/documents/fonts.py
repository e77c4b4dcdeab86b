"""Print fonts: compact subsets of the faces an official document is set in.

GB/T 9704-2012 sets the title in 小标宋, the body in 仿宋, level-one headings
in 黑体 and level-two headings in 楷体, page numbers in 宋体. The faces come
from, in this order:

1. the county's licensed faces (方正小标宋简体, 仿宋_GB2312, 楷体_GB2312, 黑体,
   宋体), when an administrator drops their files into ``PRINT_FONT_DIR``
   (found by the family names inside the files);
2. the open faces Debian ships: FandolFang, FandolKai and FandolHei
   (``texlive-lang-chinese``, installed by ``scripts/services.sh fonts``) and
   Noto Serif CJK SC (``fonts-noto-cjk``: the bold stands in for 小标宋, the
   regular for 宋体);
3. nothing: the stylesheet then names the system faces after the print face.

The source faces hold up to 65,000 glyphs. WeasyPrint embeds a subset that
keeps glyph ids, so a PDF pays for every glyph up to the highest one it uses:
a one-page notice in three faces came to about 330 KB and spent half its time
subsetting. The print fonts hold the characters of GB 2312 (the 6,763 hanzi
and their symbols), ASCII, Latin-1 and the CJK and full-width punctuation,
arrows and geometric shapes (▲▼), renumbered densely.

A character outside the print fonts (a rare hanzi in a name) is still
printed: the stylesheet names the full system face after the print face, and
Pango falls back to it for that character alone.

The fonts are built once per machine (``flask print-fonts``, also run by
``make run`` and the test suite) into ``PRINT_FONT_DIR``, with ``hb-subset``
(Debian's ``libharfbuzz-bin``) or, when it is missing, fontTools
(WeasyPrint's own dependency; about 30 s per face). A face is cut again when
its source changes (a licensed file dropped in, a package upgraded). Until
they are built, documents use the system faces.
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


FANDOL_DIR = Path("/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol")
FONT_SUFFIXES = (".otf", ".ttf", ".ttc", ".otc")


@dataclass(frozen=True)
class Face:
    file: str  # file name in PRINT_FONT_DIR
    family: str  # the family the stylesheet asks for
    weight: int
    source_family: str  # the system family it is cut from (fontconfig), when no file below is found
    source_files: tuple[str, ...] = ()  # open faces by path, tried before source_family (Fandol is not in fontconfig)
    licensed: tuple[str, ...] = ()  # family names of the county's licensed face, preferred when dropped in PRINT_FONT_DIR


FACES = (
    # The portal's own print faces (the one-time password slips, fallbacks).
    Face("serif-regular.otf", "Jiedian Serif", 400, "Noto Serif CJK SC"),
    Face("serif-bold.otf", "Jiedian Serif", 700, "Noto Serif CJK SC"),
    Face("sans-bold.otf", "Jiedian Sans", 700, "Noto Sans CJK SC"),
    # The faces of GB/T 9704-2012.
    Face("title.otf", "Jiedian Title", 400, "Noto Serif CJK SC:bold",
         licensed=("方正小标宋简体", "FZXiaoBiaoSong-B05S", "方正小标宋_GBK", "FZXiaoBiaoSong-B05", "小标宋")),
    Face("fang.otf", "Jiedian Fang", 400, "FandolFang", (str(FANDOL_DIR / "FandolFang-Regular.otf"),),
         licensed=("仿宋_GB2312", "FangSong_GB2312", "仿宋", "FangSong")),
    Face("kai.otf", "Jiedian Kai", 400, "FandolKai", (str(FANDOL_DIR / "FandolKai-Regular.otf"),),
         licensed=("楷体_GB2312", "KaiTi_GB2312", "楷体", "KaiTi")),
    Face("hei.otf", "Jiedian Hei", 400, "FandolHei", (str(FANDOL_DIR / "FandolHei-Regular.otf"),),
         licensed=("黑体", "SimHei")),
    Face("song.otf", "Jiedian Song", 400, "Noto Serif CJK SC",
         licensed=("宋体", "SimSun")),
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
    family, _, style = family.partition(":")
    fc_weight = style or ("bold" if weight >= 700 else "regular")
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


def _family_names(path: Path) -> list[tuple[int, set[str]]]:
    """(collection index, family names in every language) of each face in a font file."""
    from fontTools.ttLib import TTCollection, TTFont

    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            fonts = list(TTCollection(str(path), lazy=True).fonts)
        else:
            fonts = [TTFont(str(path), lazy=True)]
    except Exception:  # noqa: BLE001 - a damaged or foreign file is not a face to use
        return []
    faces = []
    for index, font in enumerate(fonts):
        try:
            names = {str(record.toUnicode()).strip() for record in font["name"].names if record.nameID in (1, 4, 16)}
        except Exception:  # noqa: BLE001
            names = set()
        faces.append((index, names))
    return faces


def licensed_faces(directory: str | Path) -> dict[str, tuple[str, int]]:
    """The county's licensed faces dropped into ``directory``: print face file → (source file, index).

    Any font file there that the portal did not cut itself is read for its
    family names; a face named like one of a print face's ``licensed`` names
    becomes that face's source (the first name in its list wins).
    """
    directory = Path(directory)
    ours = {face.file for face in FACES}
    found: dict[str, tuple[int, str, int]] = {}
    for path in sorted(directory.glob("*")) if directory.is_dir() else []:
        if path.name in ours or path.suffix.lower() not in FONT_SUFFIXES or not path.is_file():
            continue
        for index, names in _family_names(path):
            for face in FACES:
                for rank, wanted in enumerate(face.licensed):
                    if wanted in names and (face.file not in found or rank < found[face.file][0]):
                        found[face.file] = (rank, str(path), index)
    return {file: (path, index) for file, (_, path, index) in found.items()}


def _open_face(face: Face) -> tuple[str, int] | None:
    for path in face.source_files:
        if os.path.isfile(path):
            return path, 0
    return _system_face(face.source_family, face.weight)


def sources(directory: str | Path) -> dict[str, tuple[str, int]]:
    """Where each print face would be cut from now: the licensed file, else the open face."""
    licensed = licensed_faces(directory)
    result = {}
    for face in FACES:
        found = licensed.get(face.file) or _open_face(face)
        if found is not None:
            result[face.file] = found
    return result


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
    where = sources(directory)
    for face in FACES:
        found = where.get(face.file)
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
