"""CSV rows and the one error of every reader: DataError names the file,
the line or image, and the reason. Below the readers of each format
(``readers``) and of the FER+ votes (``votes``), which both read rows."""

import gzip
from pathlib import Path

import numpy as np


class DataError(ValueError):
    """Bad input data; the message names the file, the line or image, and the reason."""

    def __init__(self, path, reason, line=None):
        self.path, self.line, self.reason = str(path), line, reason
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {reason}")


def read_lines(path):
    """The lines of a text file (gzip recognised by its magic bytes), as bytes.

    Raises DataError for a missing, unreadable or empty file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found" if not path.exists() else "not a regular file")
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(path, f"cannot read file ({err})") from None
    if data.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark
        data = data[3:]
    if not data.strip():
        raise DataError(path, "empty file (expected a header line and data rows)")
    return data.split(b"\n")


def read_csv_rows(path, columns):
    """Rows of a comma-separated file as lists of byte fields, in ``columns`` order.

    The header (line 1) must contain every name in ``columns`` (other columns
    are ignored). Returns (line_numbers, fields) where fields[j] is the list
    of column ``columns[j]`` values. Blank lines are skipped.
    """
    lines = read_lines(path)
    header = [h.strip().strip(b'"').decode("utf-8", "replace") for h in lines[0].rstrip(b"\r").split(b",")]
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(
            path,
            f"missing column(s) {', '.join(missing)} in header {','.join(header)!r} "
            f"(expected {','.join(columns)})",
            line=1,
        )
    index = [header.index(c) for c in columns]
    width = len(header)
    numbers, fields = [], [[] for _ in columns]
    for number, line in enumerate(lines[1:], start=2):
        parts = line.rstrip(b"\r").split(b",")
        if len(parts) != width:
            if not line.strip():
                continue
            raise DataError(path, f"expected {width} comma-separated fields, found {len(parts)}", line=number)
        numbers.append(number)
        for out, i in zip(fields, index, strict=True):
            out.append(parts[i].strip(b'" \t'))  # surrounding blanks and quotes
    if not numbers:
        raise DataError(path, "no data rows after the header")
    return np.array(numbers), fields
