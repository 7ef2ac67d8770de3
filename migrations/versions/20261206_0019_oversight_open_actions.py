"""oversight open actions (issue 20, item 4): a partial index on each person's open actions

The oversight roll-up of a unit counts its people's open actions by due day. By
`ix_supervision_actions_org_supervisee_status` it found each person's open actions among
every action they ever had and visited the table for each one's due day (1,940 pages for
the 900 open actions of a 500-person service with 50 years of history). This index holds
the open ones only, with their due day: an index-only read (docs/PERFORMANCE.md, "Scale
of the rest").

Revision ID: 0019_oversight_open_actions
Revises: 0018_oversight_pending
Create Date: 2026-12-06 14:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019_oversight_open_actions'
down_revision: str | Sequence[str] | None = '0018_oversight_pending'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status = 'open'"


def upgrade() -> None:
    op.create_index(
        'ix_supervision_actions_org_supervisee_open',
        'supervision_actions',
        ['organisation_id', 'supervisee_id', 'due_on'],
        unique=False,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index('ix_supervision_actions_org_supervisee_open', table_name='supervision_actions')
