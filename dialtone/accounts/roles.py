"""The two roles: staff read messages and calls; managers also run campaigns and the
do-not-call list (and see the audit log)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    STAFF = "staff"
    MANAGER = "manager"

    @property
    def label(self) -> str:
        return {"staff": "Staff", "manager": "Manager"}[self.value]

    def may(self, needed: Role) -> bool:
        """True when this role covers `needed` (a manager may do what staff may)."""
        return self is Role.MANAGER or needed is Role.STAFF
