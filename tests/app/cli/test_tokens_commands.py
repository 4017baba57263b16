"""``spanwise tokens`` and what ``spanwise serve`` does off loopback."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from app.auth.tokens import Role, TokenStore, auth_store_path
from app.cli.main import cli

WIDE = {"COLUMNS": "200", "NO_COLOR": "1"}


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=WIDE)
    return result.exit_code, result.output


def test_create_shows_the_token_once_and_list_never_does(tmp_path: Path) -> None:
    code, output = run(
        tmp_path, "tokens", "create", "--tenant", "acme", "--role", "write", "--name", "ci"
    )
    assert code == 0, output
    token = re.search(r"sw_[0-9a-f]{8}_\S+", output)
    assert token is not None and "shown only now" in output
    grant = TokenStore(auth_store_path(tmp_path)).authenticate(token.group())
    assert grant is not None and (grant.tenant, grant.role) == ("acme", Role.WRITE)

    code, output = run(tmp_path, "tokens", "list")
    assert code == 0 and grant.token_id in output and "acme" in output and "ci" in output
    assert token.group() not in output

    code, output = run(tmp_path, "tokens", "revoke", grant.token_id)
    assert code == 0 and f"Revoked {grant.token_id}" in output
    assert TokenStore(auth_store_path(tmp_path)).authenticate(token.group()) is None
    code, output = run(tmp_path, "tokens", "revoke", grant.token_id)
    assert code == 1 and "no active token" in output


def test_a_bad_tenant_or_role_is_refused_with_what_to_do(tmp_path: Path) -> None:
    code, output = run(tmp_path, "tokens", "create", "--tenant", "../x")
    assert code == 2 and "cannot name a tenant" in output
    code, output = run(tmp_path, "tokens", "create", "--role", "admin")
    assert code == 2 and "read" in output and "write" in output


def test_serve_off_loopback_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    code, output = run(tmp_path, "serve", "--host", "0.0.0.0", "--port", "1")
    assert code == 2
    assert "every route needs a token" in output and "spanwise tokens create" in output
