"""hot paths: changes.owned (reconcilers skip a reader's own entities) and its index;
on PostgreSQL, change sequence numbers assigned at commit by a deferred trigger; indexes
that keep oversight and the reminder sweep off the years of signed-off history

Revision ID: 0014_hotpaths
Revises: 0012_practice_b
Create Date: 2026-12-06 03:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014_hotpaths'
down_revision: str | Sequence[str] | None = '0012_practice_b'
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


    with op.batch_alter_table('supervision_sessions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_supervision_sessions_org_supervisee_held',
            ['organisation_id', 'supervisee_id', 'held_on'],
            unique=False,
        )
        batch_op.create_index(
            'ix_supervision_sessions_org_status_scheduled',
            ['organisation_id', 'status', 'scheduled_for'],
            unique=False,
        )
    with op.batch_alter_table('supervision_actions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_supervision_actions_org_status_due',
            ['organisation_id', 'status', 'due_on'],
            unique=False,
        )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(ASSIGN_SEQ_FUNCTION)
        op.execute(ASSIGN_SEQ_TRIGGER)


# A change row written with seq 0 gets its number when its transaction commits: the deferred
# trigger takes the organisation's counter (its row lock is then held for the commit alone,
# not from the write to the commit) and numbers the row. Rows written with a number (the
# reminder sweep's bulk path, and SQLite, which serialises writers anyway) are left alone.
ASSIGN_SEQ_FUNCTION = """
CREATE FUNCTION harbour_assign_change_seq() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    assigned bigint;
BEGIN
    PERFORM 1 FROM changes WHERE id = NEW.id AND seq = 0;
    IF NOT FOUND THEN
        RETURN NULL;  -- numbered already (the row was written twice in one transaction)
    END IF;
    UPDATE change_counters SET last_seq = last_seq + 1
        WHERE organisation_id = NEW.organisation_id RETURNING last_seq INTO assigned;
    IF assigned IS NULL THEN
        INSERT INTO change_counters (organisation_id, last_seq)
            VALUES (NEW.organisation_id, 0) ON CONFLICT (organisation_id) DO NOTHING;
        UPDATE change_counters SET last_seq = last_seq + 1
            WHERE organisation_id = NEW.organisation_id RETURNING last_seq INTO assigned;
    END IF;
    UPDATE changes SET seq = assigned WHERE id = NEW.id;
    RETURN NULL;
END
$$
"""
ASSIGN_SEQ_TRIGGER = """
CREATE CONSTRAINT TRIGGER changes_assign_seq AFTER INSERT OR UPDATE ON changes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.seq = 0)
    EXECUTE FUNCTION harbour_assign_change_seq()
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS changes_assign_seq ON changes')
        op.execute('DROP FUNCTION IF EXISTS harbour_assign_change_seq()')
    with op.batch_alter_table('supervision_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_actions_org_status_due')
    with op.batch_alter_table('supervision_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_sessions_org_status_scheduled')
        batch_op.drop_index('ix_supervision_sessions_org_supervisee_held')
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_changes_org_staff_unowned',
            postgresql_where=sa.text('NOT owned'),
            sqlite_where=sa.text('NOT owned'),
        )
        batch_op.drop_column('owned')
