#!/usr/bin/env bash
# Set up scan2pdf on a Debian/Ubuntu machine, then run the demo or the tests.
#
#   ./scripts/bootstrap.sh demo [convert options]   convert samples/ into a fresh samples-out/
#   ./scripts/bootstrap.sh test [pytest options]    lint, type-check and run the test suite
#
# Safe and quick to re-run: apt runs only when a package is missing, pip only when
# pyproject.toml changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"; shift || true
case "$mode" in demo|test) ;; *) echo "usage: $0 demo|test [args...]" >&2; exit 2 ;; esac

# System packages: OCR engine and language packs, PDF tools, --clean and --optimize helpers;
# and what building tesserocr against this Tesseract needs (below). poppler-utils: its
# pdftotext reads text layers as the poppler-based viewers and indexers do (the tests).
packages=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-spa tesseract-ocr-chi-sim
          tesseract-ocr-chi-tra tesseract-ocr-osd ghostscript unpaper pngquant python3-venv
          libtesseract-dev libleptonica-dev pkg-config g++ poppler-utils)
python=python3
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "scan2pdf needs Python 3.11 or newer; $("$python" --version 2>&1) found." >&2
    exit 3
fi
# A Python that already has venv (pyenv, python.org builds) does not need Debian's.
if "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    packages=("${packages[@]/python3-venv}")
fi
missing=()
for pkg in "${packages[@]}"; do
    [ -n "$pkg" ] || continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing system packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The project and its Python dependencies in .venv/.
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.scan2pdf-installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip >&2
    .venv/bin/python -m pip install -q -e '.[dev,cluster]' >&2  # cluster: Dask, for --cluster and its tests
    # A Tesseract loaded in each worker (worker/loaded.py), built from source so that it
    # is this system's libtesseract (PyPI's wheel bundles another). Optional: without it
    # every page runs the tesseract program, which is slower on small pages.
    if ! .venv/bin/python -m pip install -q --no-binary tesserocr -e '.[tesserocr]' >&2; then
        echo "Could not build tesserocr; pages will be read by the tesseract program." >&2
    fi
    rm -f .venv/.scan2pdf-installed-*
    touch "$stamp"
fi

if [ "$mode" = demo ]; then
    rm -rf samples-out
    exec .venv/bin/scan2pdf convert samples -o samples-out -l eng+spa+chi_sim --report samples-out/report.jsonl "$@"
fi
.venv/bin/ruff check scan2pdf tests samples
.venv/bin/mypy scan2pdf
exec .venv/bin/pytest "$@"
