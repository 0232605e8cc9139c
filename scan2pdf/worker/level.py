"""OCR text layers whose slightly tilted lines are laid level, so every extractor reads
them in the order the sidecar has.

Tesseract's PDF renderer (the sandwich text layer, OCRmyPDF 17.13 grafts it as a Form
XObject named ``/OCR-...``) lays each line's words along the line's own baseline, tilted as
the page is. PDFium and pypdf read such a layer in its drawing order, but poppler
(``pdftotext``, Evince, Okular and the desktop indexers built on it) groups glyphs into
lines by their baselines: a line rising more than a fraction of its font size across the
page is cut into fragments of a few letters, read back out of order ("ci un co wn to e th"
for "the town council"). Tesseract levels a line itself only when it rises under 2 pt
(``pdfrenderer.cpp``, ``ClipBaseline``); a photographed page is rarely that level.

Measured 2026-12-04 (Tesseract 5.3.0, poppler 22.12): the samples' English letter turned
by 0.5, 1, 1.5, 2 and 3 degrees read back through ``pdftotext`` with 0.98, 0.75, 0.53, 0.38
and 0.28 of the sidecar's word sequence (difflib ratio; pypdf and PDFium 1.0 each); with
its lines laid level, 1.0 each. A phone photo of the letter (HEIC, EXIF orientation, colour,
turned 1.5 degrees): 0.45 before, 0.93 after (the rest: specks read as marks).

Each line keeps its words where they start across the page and is laid at the mean
height of their baselines, so a word ends at most half the line's rise from where it is
shown. Lines tilted more than ``MAX_TILT_DEGREES`` (text set at an angle on purpose, a
stamp) are left as drawn; so are text blocks written otherwise than Tesseract writes them
(fpdf2's layer, for one: its lines are tilted by ``cm`` and stay so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pikepdf

MAX_TILT_DEGREES = 5.0
_MAX_SLOPE = math.tan(math.radians(MAX_TILT_DEGREES))
# Operators Tesseract's renderer writes inside BT/ET: state kept as it is, positions
# redrawn (Tm, Td), text shown (TJ, Tj). A block with any other one is left alone.
_STATE = frozenset({"Tr", "Tf", "Tz", "Tc", "Tw"})
_SHOWS = frozenset({"TJ", "Tj"})
# A Td moving down more than this share of the font size starts a new line; between the
# words of a line Tesseract's Td moves by hundredths of a point.
_NEW_LINE = 0.5

Matrix = tuple[float, float, float, float, float, float]
Instruction = pikepdf.ContentStreamInstruction | pikepdf.ContentStreamInlineImage


@dataclass(frozen=True, slots=True)
class _Shown:
    index: int  # the show's place in the block
    line: int
    x: float
    y: float


def level_text_layers(pdf_path: Path) -> int:
    """Lay level the slightly tilted lines of every OCR text layer of ``pdf_path``, in
    place (saved only when one was). Returns how many lines were laid level."""
    levelled = 0
    with pikepdf.open(pdf_path, allow_overwriting_input=True) as pdf:
        for page in pdf.pages:
            resources = page.obj.get("/Resources", pikepdf.Dictionary())
            for name, form in resources.get("/XObject", pikepdf.Dictionary()).items():
                if not isinstance(form, pikepdf.Stream) or not str(name).startswith("/OCR-"):
                    continue
                if form.get("/Subtype") == "/Form":
                    levelled += _level_form(form)
        if levelled:
            pdf.save(pdf_path)
    return levelled


def _level_form(form: pikepdf.Stream) -> int:
    instructions: list[Instruction] = list(pikepdf.parse_content_stream(form))
    out: list[Instruction] = []
    levelled = start = 0
    while start < len(instructions):
        if str(instructions[start].operator) != "BT":
            out.append(instructions[start])
            start += 1
            continue
        end = next(
            (n for n in range(start, len(instructions)) if str(instructions[n].operator) == "ET"),
            len(instructions) - 1,
        )
        block = instructions[start : end + 1]
        level = _level_block(block)
        out.extend(block if level is None else level[0])
        levelled += 0 if level is None else level[1]
        start = end + 1
    if levelled:
        form.write(pikepdf.unparse_content_stream(out))
    return levelled


def _level_block(block: list[Instruction]) -> tuple[list[Instruction], int] | None:
    """The block with its lines laid level and how many, or None to leave it as drawn."""
    ops = [str(instruction.operator) for instruction in block]
    if ops.count("Tm") != 1 or any(
        op not in _STATE | _SHOWS | {"BT", "ET", "Tm", "Td"} for op in ops
    ):
        return None
    shown = _positions(block)
    if shown is None:
        return None
    lines: dict[int, list[float]] = {}
    for show in shown:
        lines.setdefault(show.line, []).append(show.y)
    height = {line: sum(ys) / len(ys) for line, ys in lines.items()}
    at = {show.index: show for show in shown}
    out: list[Instruction] = []
    for index, instruction in enumerate(block):
        op = str(instruction.operator)
        if op in ("Tm", "Td"):
            continue  # every show gets its own level position below
        if index in at:
            show = at[index]
            place = [1, 0, 0, 1, round(show.x, 3), round(height[show.line], 3)]
            out.append(pikepdf.ContentStreamInstruction(place, pikepdf.Operator("Tm")))
        out.append(instruction)
    return out, len(lines)


def _positions(block: list[Instruction]) -> list[_Shown] | None:
    """Where each show of the block starts, in its form's space, and on which line; None
    when the block's text is level already, tilted too far, or not simply rotated."""
    matrix: Matrix | None = None
    size, line = 1.0, 0
    shown: list[_Shown] = []
    for index, instruction in enumerate(block):
        op = str(instruction.operator)
        values = [float(v) for v in instruction.operands] if op in ("Tm", "Td") else []
        if op == "Tm":
            a, b, c, d, e, f = values
            rotation = abs(a - d) < 1e-3 and abs(b + c) < 1e-3 and abs(a * a + b * b - 1) < 0.01
            if not rotation or a <= 0 or b == 0 or abs(b / a) > _MAX_SLOPE:
                return None
            matrix = (a, b, c, d, e, f)
        elif op == "Td" and matrix is not None:
            tx, ty = values
            a, b, c, d, e, f = matrix
            matrix = (a, b, c, d, tx * a + ty * c + e, tx * b + ty * d + f)
            line += abs(ty) > _NEW_LINE * size
        elif op == "Tf":
            size = abs(float(instruction.operands[1])) or 1.0
        elif op in _SHOWS:
            if matrix is None:
                return None
            shown.append(_Shown(index, line, matrix[4], matrix[5]))
    return shown or None
