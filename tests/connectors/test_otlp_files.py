"""Reading OTLP files: JSON lines, single documents, protobuf, gzip, and bad lines."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from connectors.otlp import decode_otlp_json, encode_otlp_json, encode_otlp_protobuf
from connectors.otlp_files import read_otlp_file

TEMPO = Path(__file__).parent.parent / "fixtures" / "tempo" / "2.10.8"


def fixture_spans(name: str) -> list:
    return decode_otlp_json((TEMPO / name).read_bytes()).spans


def test_json_lines_file_keeps_every_line_and_reports_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    lines = [
        encode_otlp_json(fixture_spans("trace_v2_browse.json")),
        b"{not json",
        b"",
        encode_otlp_json(fixture_spans("trace_v2_notification.json")),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    batches = list(read_otlp_file(path))
    assert [b.line for b in batches] == [1, 2, 4]
    assert [len(b.batch.spans) for b in batches] == [6, 0, 5]
    assert batches[1].error is not None and "not valid JSON" in str(batches[1].error)
    assert batches[1].where == f"{path}:2"


def test_tempo_json_document_file(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    path.write_bytes((TEMPO / "trace_v1_checkout_ok.json").read_bytes())
    (batch,) = read_otlp_file(path)
    assert len(batch.batch.spans) == 28


def test_pretty_printed_document(tmp_path: Path) -> None:
    path = tmp_path / "pretty.json"
    document = json.loads((TEMPO / "trace_v2_checkout_err.json").read_bytes())
    path.write_text(json.dumps(document, indent=2))
    (batch,) = read_otlp_file(path)
    assert len(batch.batch.spans) == 15 and batch.error is None


def test_gzip_json_lines_and_protobuf(tmp_path: Path) -> None:
    spans = fixture_spans("trace_v2_checkout_ok.json")
    gz = tmp_path / "spans.jsonl.gz"
    gz.write_bytes(gzip.compress(encode_otlp_json(spans) + b"\n" + encode_otlp_json(spans)))
    assert [len(b.batch.spans) for b in read_otlp_file(gz)] == [28, 28]
    pb = tmp_path / "spans.pb"
    pb.write_bytes(encode_otlp_protobuf(spans))
    (batch,) = read_otlp_file(pb)
    assert len(batch.batch.spans) == 28


def test_garbage_protobuf_file_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "bad.pb"
    path.write_bytes(b"\xff\xff\xff")
    (batch,) = read_otlp_file(path)
    assert batch.error is not None and batch.batch.spans == []
