"""analytics reads (issue 14, item 5): an index for the published figures' children of a node

The wellbeing, participation and oversight reads ask for one node and its children; the
unique key finds the node, this index its children (`parent`), so a read touches only the
rows it answers with (docs/PERFORMANCE.md, "Anonymised release").

Revision ID: 0017_analytics_reads
Revises: 0016_dp_release
Create Date: 2026-12-06 07:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0017_analytics_reads'
down_revision: str | Sequence[str] | None = '0016_dp_release'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_analytics_figures_parent',
        'analytics_figures',
        ['organisation_id', 'measure', 'period_kind', 'tree', 'parent', 'period_start'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_analytics_figures_parent', table_name='analytics_figures')
