"""oversight pending (issue 20, item 4): a partial index on each person's open sessions

The oversight roll-up of a unit reads its people's sessions awaiting write-up or sign-off
and their recent cancellations. By `ix_supervision_sessions_org_status_scheduled` it read
every pending session of the organisation and kept its people's by the array of their ids,
a linear search of that array per row in a prepared statement's generic plan (12.7 ms of a
64 ms roll-up for a 500-person service of a 5,000-person council). This index finds each
person's few pending rows directly (docs/PERFORMANCE.md, "Scale of the rest").

Revision ID: 0018_oversight_pending
Revises: 0017_analytics_reads
Create Date: 2026-12-06 11:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018_oversight_pending'
down_revision: str | Sequence[str] | None = '0017_analytics_reads'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status IN ('scheduled', 'recorded', 'cancelled')"


def upgrade() -> None:
    op.create_index(
        'ix_supervision_sessions_org_supervisee_pending',
        'supervision_sessions',
        ['organisation_id', 'supervisee_id'],
        unique=False,
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index(
        'ix_supervision_sessions_org_supervisee_pending', table_name='supervision_sessions'
    )
