"""practice (issue 16, part B): record text sealed, agreements, group supervision

Revision ID: 0012_practice_b
Revises: 0011_practice_a
Create Date: 2026-12-06 02:54:28.757776+00:00

Record text (the four functions, the sign-off comment, each case discussion's Signs of
Safety mapping and decision, addenda, the cancellation reason) was stored in plain text;
from this revision it is sealed like reflective notes (models/crypto.py). The columns widen
to hold sealed values, then every existing value is sealed in place under the key ring's
first key, in batches of 500 rows. The ring is the one `harbour migrate` passes in
(`config.attributes["key_ring"]`, from the app's settings); a bare `alembic upgrade` reads it
from the same `HARBOUR_ENCRYPTION_KEYS` (or, in development only, derives it from
`HARBOUR_SECRET_KEY`), exactly as the app would. Downgrading opens them again.

It also creates the supervision agreements and group supervision tables, and adds the
policy's group size and agreement review values (defaults for existing rows: 4 to 10
attendees, reviews 3 months after a first agreement and then every 12).
"""

import uuid
from collections.abc import Callable, Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import context, op

import models.base
from models.crypto import KeyRing, KeyRingSettings, open_json, seal_json

revision: str = '0012_practice_b'
down_revision: str | Sequence[str] | None = '0011_practice_a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Lengths written out, not imported: this revision describes the schema as it was then.
SECTION, SECTION_SEALED = 20_000, 160_076
SHORT, SHORT_SEALED = 2_000, 16_076
SEALED: dict[str, list[tuple[str, int, int, bool]]] = {  # column, plain, sealed, nullable
    'supervision_sessions': [('cancelled_reason', SHORT, SHORT_SEALED, True)],
    'supervision_records': [
        ('management', SECTION, SECTION_SEALED, False),
        ('development', SECTION, SECTION_SEALED, False),
        ('support', SECTION, SECTION_SEALED, False),
        ('mediation', SECTION, SECTION_SEALED, False),
        ('sign_off_comment', SHORT, SHORT_SEALED, True),
    ],
    'supervision_case_discussions': [
        (c, SECTION, SECTION_SEALED, False)
        for c in ('worried_about', 'working_well', 'needs_to_happen', 'decision', 'rationale')
    ],
    'supervision_addenda': [('text', SECTION, SECTION_SEALED, False)],
}
BATCH = 500


_rings: list[KeyRing] = []


def _ring() -> KeyRing:
    """The ring, read on first use: a database with nothing to seal needs no keys."""
    if not _rings:
        given = context.config.attributes.get('key_ring')
        _rings.append(given if isinstance(given, KeyRing) else KeyRingSettings().key_ring())
    return _rings[0]


def _convert_all(convert: Callable[[str, str, uuid.UUID, str], str]) -> None:
    """Rewrite every non-null value of the sealed columns with `convert`, by id batches."""
    bind = op.get_bind()
    for table, columns in SEALED.items():
        names = [name for name, *_ in columns]
        t = sa.table(table, sa.column('id', sa.Uuid()), *(sa.column(n, sa.String()) for n in names))
        after: uuid.UUID | None = None
        while True:
            stmt = sa.select(t).order_by(t.c.id).limit(BATCH)
            if after is not None:
                stmt = stmt.where(t.c.id > after)
            rows = bind.execute(stmt).mappings().all()
            for row in rows:
                values = {
                    n: convert(row[n], table, row['id'], n) for n in names if row[n] is not None
                }
                if values:
                    bind.execute(sa.update(t).where(t.c.id == row['id']).values(values))
            if len(rows) < BATCH:
                break
            after = rows[-1]['id']


def _retype(sealed: bool) -> None:
    for table, columns in SEALED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, plain, sealed_length, nullable in columns:
                batch_op.alter_column(
                    name,
                    existing_type=sa.String(length=plain if sealed else sealed_length),
                    type_=sa.String(length=sealed_length if sealed else plain),
                    existing_nullable=nullable,
                )


def _create_tables() -> None:
    op.create_table('supervision_agreements',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('supervisee_id', sa.Uuid(), nullable=False),
    sa.Column('supervisor_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('supersedes_id', sa.Uuid(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('review_due_on', sa.Date(), nullable=False),
    sa.Column('terms', sa.String(length=161676), nullable=False),
    sa.Column('drafted_by', sa.Uuid(), nullable=True),
    sa.Column('supervisee_signed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('supervisor_signed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('in_force_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('superseded_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['drafted_by'], ['staff.id'], name=op.f('fk_supervision_agreements_drafted_by_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_supervision_agreements_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supersedes_id'], ['supervision_agreements.id'], name=op.f('fk_supervision_agreements_supersedes_id_supervision_agreements'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['supervisee_id'], ['staff.id'], name=op.f('fk_supervision_agreements_supervisee_id_staff'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supervisor_id'], ['staff.id'], name=op.f('fk_supervision_agreements_supervisor_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_agreements')),
    sa.UniqueConstraint('organisation_id', 'supervisee_id', 'number', name='uq_supervision_agreements_number')
    )
    with op.batch_alter_table('supervision_agreements', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_agreements_org_supervisee_status', ['organisation_id', 'supervisee_id', 'status'], unique=False)
        batch_op.create_index('ix_supervision_agreements_org_supervisor', ['organisation_id', 'supervisor_id'], unique=False)

    op.create_table('supervision_group_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('facilitator_id', sa.Uuid(), nullable=False),
    sa.Column('format', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('scheduled_for', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('held_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('held_minutes', sa.Integer(), nullable=True),
    sa.Column('presenter_id', sa.Uuid(), nullable=True),
    sa.Column('case_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('scaling', sa.Integer(), nullable=True),
    sa.Column('worried_about', sa.String(length=160076), nullable=True),
    sa.Column('working_well', sa.String(length=160076), nullable=True),
    sa.Column('needs_to_happen', sa.String(length=160076), nullable=True),
    sa.Column('decision', sa.String(length=160076), nullable=True),
    sa.Column('rationale', sa.String(length=160076), nullable=True),
    sa.Column('notes', sa.String(length=160076), nullable=True),
    sa.Column('cancelled_reason', sa.String(length=16076), nullable=True),
    sa.Column('cancelled_by', sa.Uuid(), nullable=True),
    sa.Column('cancelled_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cancelled_by'], ['staff.id'], name=op.f('fk_supervision_group_sessions_cancelled_by_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_supervision_group_sessions_created_by_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['facilitator_id'], ['staff.id'], name=op.f('fk_supervision_group_sessions_facilitator_id_staff'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_supervision_group_sessions_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['presenter_id'], ['staff.id'], name=op.f('fk_supervision_group_sessions_presenter_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_group_sessions'))
    )
    with op.batch_alter_table('supervision_group_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_group_sessions_org_facilitator', ['organisation_id', 'facilitator_id', 'scheduled_for'], unique=False)

    op.create_table('supervision_group_attendees',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('group_session_id', sa.Uuid(), nullable=False),
    sa.Column('staff_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('attendance', sa.String(length=20), nullable=False),
    sa.Column('absence_reason', sa.String(length=16076), nullable=True),
    sa.Column('held_on', sa.Date(), nullable=True),
    sa.Column('acknowledged_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['group_session_id'], ['supervision_group_sessions.id'], name=op.f('fk_supervision_group_attendees_group_session_id_supervision_group_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_supervision_group_attendees_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_supervision_group_attendees_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_group_attendees')),
    sa.UniqueConstraint('organisation_id', 'group_session_id', 'staff_id', name='uq_supervision_group_attendees_person')
    )
    with op.batch_alter_table('supervision_group_attendees', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_group_attendees_org_staff_held', ['organisation_id', 'staff_id', 'held_on'], unique=False)

    with op.batch_alter_table('supervision_policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_min_attendees', sa.Integer(), server_default='4', nullable=False))
        batch_op.add_column(sa.Column('group_max_attendees', sa.Integer(), server_default='10', nullable=False))
        batch_op.add_column(sa.Column('agreement_first_review_months', sa.Integer(), server_default='3', nullable=False))
        batch_op.add_column(sa.Column('agreement_review_months', sa.Integer(), server_default='12', nullable=False))



def _drop_tables() -> None:
    with op.batch_alter_table('supervision_policies', schema=None) as batch_op:
        batch_op.drop_column('agreement_review_months')
        batch_op.drop_column('agreement_first_review_months')
        batch_op.drop_column('group_max_attendees')
        batch_op.drop_column('group_min_attendees')

    with op.batch_alter_table('supervision_group_attendees', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_group_attendees_org_staff_held')

    op.drop_table('supervision_group_attendees')
    with op.batch_alter_table('supervision_group_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_group_sessions_org_facilitator')

    op.drop_table('supervision_group_sessions')
    with op.batch_alter_table('supervision_agreements', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_agreements_org_supervisor')
        batch_op.drop_index('ix_supervision_agreements_org_supervisee_status')

    op.drop_table('supervision_agreements')


def upgrade() -> None:
    _rings.clear()
    _create_tables()
    _retype(sealed=True)
    _convert_all(lambda value, table, row_id, column: seal_json(_ring(), value, table, row_id, column))


def downgrade() -> None:
    _rings.clear()
    _convert_all(lambda value, table, row_id, column: open_json(_ring(), value, table, row_id, column))
    _retype(sealed=False)
    _drop_tables()
