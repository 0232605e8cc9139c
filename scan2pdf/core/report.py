"""Per-file results, the JSON Lines report, the summary line and the exit code.

The report is written as results arrive (one line per input, flushed), so a killed run
still leaves a report of everything it finished, and memory does not grow with the
number of files: the ``Report`` keeps counters and the failures only.
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from scan2pdf.core.quality import Quality
from scan2pdf.errors import ExitCode, Scan2PdfError, location_error

Status = Literal["converted", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class FileResult:
    """What happened to one input. Field names are the report's contract (DESIGN.md)."""

    input: Path
    status: Status
    reason: str | None = None
    message: str | None = None
    output: Path | None = None
    sidecar: Path | None = None
    pages: int | None = None
    ocr_pages: int | None = None
    seconds: float = 0.0
    # What preflight changed (DPI assumed, encryption removed...), for the report.
    notes: tuple[str, ...] = ()
    # How sure the OCR is (core/quality.py); None when nothing was OCRed.
    quality: Quality | None = None
    # JSON: the versions that made the outputs (core/provenance.py); journal only.
    made_by: str | None = None
    # Traceback or tool output, shown with -v only; not part of the report.
    detail: str | None = None
    # Where the input's bytes were read from, when that is not its identity (a claim in
    # the hot folder); not part of the report.
    source: Path | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "input": str(self.input),
            "output": str(self.output) if self.output else None,
            "sidecar": str(self.sidecar) if self.sidecar else None,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "pages": self.pages,
            "ocr_pages": self.ocr_pages,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
            **(self.quality or _UNRATED).report_fields(),
        }


_UNRATED = Quality(None)


@dataclass
class Report:
    """Running totals of a batch; feed it every ``FileResult``."""

    converted: int = 0
    skipped: int = 0
    failed: int = 0
    pages: int = 0
    ocr_pages: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    failures: list[FileResult] = field(default_factory=list)
    _sink: IO[str] | None = None
    _sink_path: Path | None = None

    def open_sink(self, path: Path, append: bool = False) -> None:
        """Write every result to ``path`` from now on (JSON Lines, flushed per line)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._sink = path.open("a" if append else "w", encoding="utf-8")
            self._sink_path = path
        except OSError as exc:
            raise location_error(
                "the report file (--report)",
                path,
                exc,
                "Give --report a file path this user may write.",
            ) from exc

    def close(self) -> None:
        if self._sink is not None:
            sink, self._sink = self._sink, None
            with suppress(OSError):  # its last line could not be flushed: already said
                sink.close()

    def add(self, result: FileResult) -> None:
        if result.status == "converted":
            self.converted += 1
            self.pages += result.pages or 0
            self.ocr_pages += result.ocr_pages or 0
        elif result.status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append(result)
        if self._sink is not None:
            try:
                self._sink.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
                self._sink.flush()
            except OSError as exc:  # /dev/full, a full disk: the run stops, naming it
                sink, self._sink = self._sink, None
                with suppress(OSError):
                    sink.close()
                raise location_error(
                    "the report file (--report)",
                    self._sink_path,
                    exc,
                    "Free some space there or give --report another file, and run again: "
                    "the run continues where it stopped.",
                ) from exc

    @property
    def total(self) -> int:
        return self.converted + self.skipped + self.failed

    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        return ExitCode.FAILURES if self.failed else ExitCode.OK

    def summary(self) -> str:
        rate = self.pages / self.seconds if self.seconds > 0 else 0.0
        text = (
            f"{self.converted} converted, {self.skipped} skipped, {self.failed} failed; "
            f"{self.pages} page{'' if self.pages == 1 else 's'} in {self.seconds:.1f} s "
            f"({rate:.2f} pages/s)"
        )
        return f"Interrupted: {text}" if self.interrupted else text


def failed(
    identity: str | Path, error: Scan2PdfError, seconds: float = 0.0, detail: str | None = None
) -> FileResult:
    """The result of an input that failed with ``error``."""
    return FileResult(
        input=Path(identity),
        status="failed",
        reason=error.reason,
        message=error.message,
        seconds=seconds,
        detail=detail,
    )
