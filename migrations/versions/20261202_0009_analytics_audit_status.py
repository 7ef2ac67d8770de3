"""analytics audit status

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 23:37:25.618094+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every call audited before this revision was answered (refusals were not recorded).
    with op.batch_alter_table('wellbeing_analytics_audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.Integer(), server_default='200', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('wellbeing_analytics_audit', schema=None) as batch_op:
        batch_op.drop_column('status')

