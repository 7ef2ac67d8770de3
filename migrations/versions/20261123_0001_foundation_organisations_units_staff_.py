"""foundation: organisations, units, staff, auth

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:14:13.097756+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.base


revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    op.create_table('organisations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('name', name=op.f('uq_organisations_name'))
    )
    op.create_table('scheduler_heartbeat',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('beat_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_heartbeat'))
    )
    op.create_table('units',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('manager_id', sa.Uuid(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_units_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['units.id'], name=op.f('fk_units_parent_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('organisation_id', 'parent_id', 'name', name='uq_units_org_parent_name')
    )
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.create_index('ix_units_org_manager', ['organisation_id', 'manager_id'], unique=False)
        batch_op.create_index('ix_units_org_parent', ['organisation_id', 'parent_id'], unique=False)

    op.create_table('staff',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('unit_id', sa.Uuid(), nullable=True),
    sa.Column('supervisor_id', sa.Uuid(), nullable=True),
    sa.Column('cohort', sa.String(length=20), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_staff_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supervisor_id'], ['staff.id'], name=op.f('fk_staff_supervisor_id_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_staff_unit_id_units'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('email', name=op.f('uq_staff_email'))
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_index('ix_staff_org_supervisor', ['organisation_id', 'supervisor_id'], unique=False)
        batch_op.create_index('ix_staff_org_unit', ['organisation_id', 'unit_id'], unique=False)

    # units.manager_id -> staff.id closes the units/staff cycle, so it comes after both tables.
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f('fk_units_manager_id_staff'), 'staff', ['manager_id'], ['id'], ondelete='SET NULL'
        )

    op.create_table('refresh_tokens',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('staff_id', sa.Uuid(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_refresh_tokens_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_refresh_tokens_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_refresh_tokens_token_hash'))
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_refresh_tokens_org_family', ['organisation_id', 'family_id'], unique=False)
        batch_op.create_index('ix_refresh_tokens_org_staff', ['organisation_id', 'staff_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_refresh_tokens_org_staff')
        batch_op.drop_index('ix_refresh_tokens_org_family')

    op.drop_table('refresh_tokens')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_org_unit')
        batch_op.drop_index('ix_staff_org_supervisor')

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_units_manager_id_staff'), type_='foreignkey')
    op.drop_table('staff')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index('ix_units_org_parent')
        batch_op.drop_index('ix_units_org_manager')

    op.drop_table('units')
    op.drop_table('scheduler_heartbeat')
    op.drop_table('organisations')
    op.drop_table('login_throttle')
