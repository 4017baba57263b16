"""``spanwise serve`` refusing to start, before it announces anything."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from app.cli.main import cli


def test_a_port_in_use_is_refused_before_the_banner(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["--data-dir", str(tmp_path), "serve", "--port", str(port)], env={"COLUMNS": "200"}
        )
    assert result.exit_code == 2, result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Choose another --port" in result.output and "listening on" not in result.output
