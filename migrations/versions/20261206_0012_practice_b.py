"""practice (issue 16, part B): supervision record text sealed at rest

Revision ID: 0012_practice_b
Revises: 0009
Create Date: 2026-12-06 02:54:28.757776+00:00

Record text (the four functions, the sign-off comment, each case discussion's Signs of
Safety mapping and decision, addenda, the cancellation reason) was stored in plain text;
from this revision it is sealed like reflective notes (models/crypto.py). The columns widen
to hold sealed values, then every existing value is sealed in place under the key ring's
first key, in batches of 500 rows. The ring is the one `harbour migrate` passes in
(`config.attributes["key_ring"]`, from the app's settings); a bare `alembic upgrade` reads it
from the same `HARBOUR_ENCRYPTION_KEYS` (or, in development only, derives it from
`HARBOUR_SECRET_KEY`), exactly as the app would. Downgrading opens them again.
"""

import uuid
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import context, op

from models.crypto import KeyRing, KeyRingSettings, open_json, seal_json

revision: str = '0012_practice_b'
down_revision: str | Sequence[str] | None = '0009'
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


def _ring() -> KeyRing:
    ring = context.config.attributes.get('key_ring')
    return ring if isinstance(ring, KeyRing) else KeyRingSettings().key_ring()


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


def upgrade() -> None:
    _retype(sealed=True)
    ring = _ring()
    _convert_all(lambda value, table, row_id, column: seal_json(ring, value, table, row_id, column))


def downgrade() -> None:
    ring = _ring()
    _convert_all(lambda value, table, row_id, column: open_json(ring, value, table, row_id, column))
    _retype(sealed=False)
