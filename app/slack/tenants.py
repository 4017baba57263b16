"""Which Spanwise tenant a Slack workspace or channel asks about.

``settings.slack_tenants`` maps Slack ids to tenants: a channel's id (``C...``, ``G...``,
``D...``) wins over its workspace's (``T...``), and anything unmapped is the default tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.tenancy import DEFAULT_TENANT, check_tenant


@dataclass(frozen=True)
class SlackTenants:
    by_slack_id: Mapping[str, str]

    @classmethod
    def checked(cls, mapping: Mapping[str, str]) -> SlackTenants:
        """The mapping, once every tenant in it is a valid tenant name (else ValueError,
        naming the Slack id), so a typo fails at start-up, not on someone's question."""
        for slack_id, tenant in mapping.items():
            try:
                check_tenant(tenant)
            except ValueError as exc:
                raise ValueError(f"SPANWISE_SLACK_TENANTS[{slack_id!r}]: {exc}") from exc
        return cls(dict(mapping))

    def tenant_for(self, team_id: str | None, channel_id: str | None) -> str:
        for slack_id in (channel_id, team_id):
            if slack_id and slack_id in self.by_slack_id:
                return self.by_slack_id[slack_id]
        return DEFAULT_TENANT
