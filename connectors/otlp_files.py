"""OTLP files: JSON lines (what the Collector's file exporter and ``tempo pull`` write),
single OTLP/JSON or Tempo JSON documents, and protobuf; each optionally gzip-compressed.

Files are read one document at a time, so a file of any size takes the memory of its
largest line. A bad line does not stop the file: it is reported with its line number and
reading goes on, as the partial-batch policy of ``connectors.otlp`` does for spans.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from connectors.otlp import DecodedBatch, OtlpDecodeError, decode_otlp_json, decode_otlp_protobuf

PROTOBUF_SUFFIXES = frozenset({".pb", ".binpb", ".protobuf"})


@dataclass(frozen=True, slots=True)
class FileBatch:
    """The spans of one document of a file; ``error`` is set when the document was unreadable."""

    path: Path
    line: int | None
    batch: DecodedBatch
    error: OtlpDecodeError | None = None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else str(self.path)


def read_otlp_file(path: Path, start: int = 0) -> Iterator[FileBatch]:
    """Yield the decoded documents of an OTLP file, in order; raise OSError if unreadable.

    ``start``: a byte offset to read JSON lines from (``appendable``), for a file that grew
    since its first ``start`` bytes were read.
    """
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes = suffixes[:-1]
    is_protobuf = bool(suffixes) and suffixes[-1] in PROTOBUF_SUFFIXES
    if start and not appendable(path):
        raise ValueError(f"{path} is read whole: only uncompressed JSON lines grow by lines")
    raw = gzip.open(path, "rb") if compressed else path.open("rb")
    with cast(IO[bytes], raw) as handle:
        if is_protobuf:
            yield _protobuf_file(path, handle.read())
        elif start:
            handle.seek(start)
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield _json_document(path, number, line)
        else:
            yield from _json_file(path, handle)


def appendable(path: Path) -> bool:
    """Whether the file is JSON lines that can grow by lines (the Collector's file exporter
    appends so): neither compressed nor protobuf."""
    suffix = path.suffix.lower()
    return suffix not in PROTOBUF_SUFFIXES and suffix != ".gz"


def _protobuf_file(path: Path, data: bytes) -> FileBatch:
    try:
        return FileBatch(path, None, decode_otlp_protobuf(data))
    except OtlpDecodeError as exc:
        return FileBatch(path, None, DecodedBatch(), exc)


def _json_file(path: Path, handle: IO[bytes]) -> Iterator[FileBatch]:
    """JSON lines, or one document spread over several lines (pretty-printed)."""
    first = handle.readline()
    rest_start = handle.readline()
    if first.strip() and rest_start.strip() and not _is_complete_json(first):
        # A pretty-printed single document.
        whole = first + rest_start + handle.read()
        yield _json_document(path, None, whole)
        return
    number = 0
    for number, line in enumerate(_chain(first, rest_start, handle), start=1):
        if line.strip():
            yield _json_document(path, number, line)


def _chain(first: bytes, second: bytes, handle: IO[bytes]) -> Iterator[bytes]:
    yield first
    if second:
        yield second
    yield from handle


def _is_complete_json(line: bytes) -> bool:
    stripped = line.strip()
    return stripped.startswith(b"{") and stripped.endswith(b"}")


def _json_document(path: Path, line: int | None, data: bytes) -> FileBatch:
    try:
        return FileBatch(path, line, decode_otlp_json(data))
    except OtlpDecodeError as exc:
        return FileBatch(path, line, DecodedBatch(), exc)
