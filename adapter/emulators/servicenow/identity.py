"""Who is calling: set on ``request.state.caller`` by the authentication layer, read by every API."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated ``sys_user``: its sys_id, user_name (what ``sys_created_by`` records) and roles."""

    sys_id: str
    user_name: str
    roles: frozenset[str]

    def has_role(self, role: str) -> bool:
        """ServiceNow semantics: ``admin`` holds every role."""
        return "admin" in self.roles or role in self.roles
