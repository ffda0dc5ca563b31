"""The result table of a batch: one row per item, Parquet (pyarrow) or CSV by the file's suffix."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from drumjam.errors import FileFormatError, InputError
from drumjam.io.outputs import replacing

SUFFIXES = (".parquet", ".csv")
FIRST_COLUMNS = ("item", "status", "error", "seconds")


def check_output(path: Path) -> Path:
    """The output path if its suffix names a table format drumjam writes."""
    if Path(path).suffix.lower() not in SUFFIXES:
        raise InputError(f"output {path} must end in .parquet or .csv (the table's format)")
    return Path(path)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of an earlier run's table (none if the file does not exist yet)."""
    path = check_output(path)
    if not path.exists():
        return []
    try:
        if path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        else:
            import pyarrow.parquet as pq

            rows = pq.read_table(path).to_pylist()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a damaged file
        raise FileFormatError(path, f"is not a readable result table ({exc})",
                              "give another --out, or remove the file to start over") from exc
    if rows and not {"item", "status"} <= set(rows[0]):
        raise FileFormatError(path, "is not a drumjam batch table (no item/status columns)",
                              "give another --out")
    return rows


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the whole table at once (through a temporary file, so a crash leaves the old one)."""
    path = check_output(path)
    columns = list(FIRST_COLUMNS)
    for row in rows:
        columns += [c for c in row if c not in columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        if path.suffix.lower() == ".csv":
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns, restval="")
                writer.writeheader()
                writer.writerows(rows)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows])
            pq.write_table(table, tmp)
