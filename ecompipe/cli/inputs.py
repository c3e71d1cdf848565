"""The input files of a local directory, as the CLI's commands take them (kept apart from the run
path, so that a command that only reads files does not import it)."""

from __future__ import annotations

from pathlib import Path

from ecompipe.core import layout
from ecompipe.core.errors import EcompipeError


def csv_files(directory: Path) -> list[Path]:
    """The CSV files under directory (recursively; .csv or gzip-compressed .csv.gz), sorted; file
    names must be unique."""
    if not directory.is_dir():
        raise EcompipeError(f"{directory} is not a directory")
    files = sorted(p for p in directory.rglob("*") if p.is_file() and layout.is_csv(p.name))
    seen: dict[str, Path] = {}
    for p in files:
        if p.name in seen:
            raise EcompipeError(f"two files are named {p.name}: {seen[p.name]} and {p}; incoming/ keys must be unique")
        seen[p.name] = p
    return files


def json_files(directory: Path) -> list[Path]:
    """The JSON (sales) files under directory (recursively), sorted."""
    return sorted(p for p in directory.rglob("*") if p.is_file() and layout.is_sales_file(p.name))


def other_files(directory: Path) -> list[Path]:
    """The files under directory that are neither CSV nor JSON sales files: not taken by a run."""
    return sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and not layout.is_csv(p.name) and not layout.is_sales_file(p.name)
    )
