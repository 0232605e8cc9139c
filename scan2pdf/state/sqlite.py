"""What an SQLite error means for scan2pdf's own databases (the journal, the search index)."""

from __future__ import annotations

import sqlite3
from typing import Literal

Problem = Literal["full", "locked", "damaged", "other"]


def problem(exc: sqlite3.Error) -> Problem:
    """Classified by SQLite's message: the exception types do not tell these apart."""
    text = str(exc).lower()
    if "full" in text:
        return "full"
    if "locked" in text or "busy" in text:
        return "locked"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return "damaged"
    return "other"
