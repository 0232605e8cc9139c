"""Claiming files from the inbox by an atomic rename, and putting claims back.

A watcher renames a settled file into ``INBOX/.scan2pdf/claims/<host>-<pid>/<rel>``: of two
watchers on one inbox exactly one wins each file (a rename on one filesystem is atomic).
Claims of a watcher that died (kill -9, power cut) are put back into the inbox when one
starts again on that host; a clean stop puts its own back.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from scan2pdf.state.failures import free_name
from scan2pdf.state.scratch import alive

WORK = ".scan2pdf"  # inside INBOX; hidden, so never scanned as input


class Claims:
    """This watcher's claimed files, under INBOX/.scan2pdf/claims/<host>-<pid>/<rel>."""

    def __init__(self, inbox: Path) -> None:
        self.inbox = inbox
        self.root = inbox / WORK / "claims" / f"{socket.gethostname()}-{os.getpid()}"
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root.parent / f"{self.root.name}.pid").write_text(str(os.getpid()))

    def claim(self, path: Path) -> Path | None:
        """Rename ``path`` into our claims; None if another watcher was faster."""
        # A name dropped again while its first file is still claimed gets a name of its own
        # here, so the rename can never replace the first original.
        target = free_name(self.root / path.relative_to(self.inbox))
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(path, target)  # atomic on one filesystem: exactly one claimer wins
        except FileNotFoundError:
            return None
        return target

    def rel(self, claimed: Path) -> Path:
        return claimed.relative_to(self.root)

    def release_all(self) -> None:
        """Put unfinished claims back into the inbox (a clean stop)."""
        _return_claims(self.root, self.inbox)
        shutil.rmtree(self.root, ignore_errors=True)
        (self.root.parent / f"{self.root.name}.pid").unlink(missing_ok=True)

    @staticmethod
    def recover(inbox: Path) -> int:
        """Put back the claims of watchers on this host that died (kill -9, power cut)."""
        claims, host, returned = inbox / WORK / "claims", socket.gethostname(), 0
        for pid_file in claims.glob(f"{host}-*.pid") if claims.exists() else []:
            try:
                pid = int(pid_file.read_text())
            except (OSError, ValueError):
                continue
            if alive(pid) and pid != os.getpid():
                continue
            owner = claims / pid_file.stem
            returned += _return_claims(owner, inbox)
            shutil.rmtree(owner, ignore_errors=True)
            pid_file.unlink(missing_ok=True)
        return returned


def _return_claims(owner: Path, inbox: Path) -> int:
    count = 0
    for path in sorted(p for p in owner.rglob("*") if p.is_file()):
        target = free_name(inbox / path.relative_to(owner))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, target)
        count += 1
    return count
