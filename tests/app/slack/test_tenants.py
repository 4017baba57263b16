"""Which tenant a Slack workspace or channel asks about."""

from __future__ import annotations

import pytest

from app.slack.tenants import SlackTenants

TENANTS = SlackTenants.checked({"T0ACME": "acme", "C0OPS": "ops", "C0SHARED": "default"})


@pytest.mark.parametrize(
    ("team", "channel", "tenant"),
    [
        ("T0ACME", "C0GENERAL", "acme"),
        ("T0ACME", "C0OPS", "ops"),  # the channel wins over its workspace
        ("T0OTHER", "C0OPS", "ops"),  # a shared channel keeps its tenant in any workspace
        ("T0ACME", "C0SHARED", "default"),
        ("T0OTHER", "C0GENERAL", "default"),  # unmapped
        (None, None, "default"),
    ],
)
def test_a_channel_wins_over_its_workspace_else_the_default(
    team: str | None, channel: str | None, tenant: str
) -> None:
    assert TENANTS.tenant_for(team, channel) == tenant


@pytest.mark.parametrize("bad", ["../etc", "", "a/b", "x" * 64])
def test_a_mapping_to_an_impossible_tenant_is_refused_naming_its_slack_id(bad: str) -> None:
    with pytest.raises(ValueError, match=r"SPANWISE_SLACK_TENANTS\['C0OPS'\]"):
        SlackTenants.checked({"T0ACME": "acme", "C0OPS": bad})
