"""Who is asking: the authenticated staff member every domain query is scoped to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from models.directory.staff import Role


@dataclass(frozen=True, slots=True)
class Actor:
    id: uuid.UUID
    organisation_id: uuid.UUID
    roles: frozenset[Role]
    unit_id: uuid.UUID | None
    supervisor_id: uuid.UUID | None

    def has(self, role: Role) -> bool:
        return role in self.roles
