"""Tokens: shown once, stored as a hash, scoped to a tenant and a role, revocable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.auth.tokens import Role, TokenStore, auth_store_path


@pytest.fixture
def tokens(tmp_path: Path) -> TokenStore:
    return TokenStore(auth_store_path(tmp_path))


def test_a_token_authenticates_as_its_tenant_and_role(tokens: TokenStore) -> None:
    info, token = tokens.create("acme", Role.READ, "grafana team")
    grant = tokens.authenticate(token)
    assert grant is not None
    assert (grant.token_id, grant.tenant, grant.role) == (info.token_id, "acme", Role.READ)
    assert [t.name for t in tokens.tokens()] == ["grafana team"]


def test_only_a_hash_is_stored(tokens: TokenStore, tmp_path: Path) -> None:
    _, token = tokens.create("acme", Role.WRITE)
    tokens.close()
    raw = auth_store_path(tmp_path).read_bytes()
    secret = token.split("_", 2)[2]  # sw_<id>_<secret>; the secret may hold "_" too
    assert token.encode() not in raw and secret.encode() not in raw
    rows = sqlite3.connect(auth_store_path(tmp_path)).execute("SELECT hash FROM tokens").fetchall()
    assert len(rows) == 1 and len(rows[0][0]) == 64


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the secret one letter off
        lambda t: t.replace("sw_", "xx_", 1),
        lambda t: t.split("_", 2)[0] + "_" + t.split("_", 2)[1],  # no secret
        lambda t: "",
        lambda t: "sw_nope_" + t.rsplit("_", 1)[1],  # a secret under another id
    ],
)
def test_anything_but_the_token_is_refused(tokens: TokenStore, mangle: object) -> None:
    _, token = tokens.create("acme", Role.READ)
    assert callable(mangle)
    assert tokens.authenticate(mangle(token)) is None


def test_a_revoked_token_never_authenticates_again_and_stays_listed(tokens: TokenStore) -> None:
    info, token = tokens.create("acme", Role.WRITE)
    other_info, other = tokens.create("acme", Role.READ)
    assert tokens.revoke(info.token_id)
    assert not tokens.revoke(info.token_id)  # already revoked
    assert tokens.authenticate(token) is None
    assert tokens.authenticate(other) is not None
    listed = {t.token_id: t for t in tokens.tokens()}
    assert listed[info.token_id].revoked_unix is not None
    assert listed[other_info.token_id].revoked_unix is None
    assert tokens.active_count() == 1


def test_a_tenant_name_that_could_escape_its_folder_is_refused(tokens: TokenStore) -> None:
    for bad in ("../etc", "a/b", "", ".hidden", "x" * 64):
        with pytest.raises(ValueError, match="cannot name a tenant"):
            tokens.create(bad, Role.READ)
