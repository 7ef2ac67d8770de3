"""hot paths: changes.owned (reconcilers skip a reader's own entities) and its index

Revision ID: 0014_hotpaths
Revises: 0009
Create Date: 2026-12-06 03:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014_hotpaths'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows written before this revision are not marked owned: reconcilers look at them as
    # before (correct, only slower); every change recorded from now on marks its owners.
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('owned', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            'ix_changes_org_staff_unowned',
            ['organisation_id', 'staff_id'],
            unique=False,
            postgresql_where=sa.text('NOT owned'),
            sqlite_where=sa.text('NOT owned'),
        )


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_changes_org_staff_unowned',
            postgresql_where=sa.text('NOT owned'),
            sqlite_where=sa.text('NOT owned'),
        )
        batch_op.drop_column('owned')
