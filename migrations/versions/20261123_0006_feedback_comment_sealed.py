"""session feedback: comment sealed at rest, unit path snapshot

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:20:00+00:00

The comment now holds a sealed value (models/crypto.py), longer than the plaintext. A
comment stored in plaintext before this revision cannot be sealed here (the migration has
no key ring), and no one could read it back (there was no read route), so it is cleared.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE supervision_feedback SET comment = NULL "
        "WHERE comment IS NOT NULL AND comment NOT LIKE 'v1.%'"
    )
    with op.batch_alter_table('supervision_feedback', schema=None) as batch_op:
        batch_op.alter_column('comment',
               existing_type=sqlmodel.sql.sqltypes.AutoString(length=2000),
               type_=sa.String(length=40000),
               existing_nullable=True)
        batch_op.add_column(sa.Column('unit_path', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("UPDATE supervision_feedback SET comment = NULL")
    with op.batch_alter_table('supervision_feedback', schema=None) as batch_op:
        batch_op.drop_column('unit_path')
        batch_op.alter_column('comment',
               existing_type=sa.String(length=40000),
               type_=sqlmodel.sql.sqltypes.AutoString(length=2000),
               existing_nullable=True)
