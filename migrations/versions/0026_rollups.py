"""figures as rollups

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07

`rollups` holds the /stats counts per estate and group, kept by every transaction that changes
a ticket (models/rollups.py); `rollup_ranks` the groups' medians and p90s with the version of
the times they were ranked at (models/ranks.py). Tickets keep the lengths the figures rank by
(`response_us`, `fix_us`), indexed per group, and open tickets are indexed by deadline.
The rows already there are counted once here, in Asia/Shanghai months (the default zone;
`flask stats rebuild` counts again in another).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.orm import Session

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

LENGTHS = ("response_us", "fix_us")
BY = ("", "category", "building", "assignee_id")
DUES = ("response_due_at", "resolve_due_at")  # open tickets not yet due, which /stats subtracts
OPEN = sa.text("state IN ('open', 'claimed', 'reopened')")


def upgrade() -> None:
    op.create_table(
        'rollups',
        sa.Column('tier', sa.Integer(), nullable=False),
        sa.Column('dimension', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('what', sa.String(length=32), nullable=False),
        sa.Column('estate_id', sa.Integer(), nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('tier', 'dimension', 'key', 'what', 'estate_id', name=op.f('pk_rollups')))
    op.create_table(
        'rollup_ranks',
        sa.Column('scope', sa.String(length=200), nullable=False),
        sa.Column('dimension', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('measure', sa.String(length=32), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('median', sa.Float(), nullable=True),
        sa.Column('p90', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('scope', 'dimension', 'key', 'measure', name=op.f('pk_rollup_ranks')))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        for column in LENGTHS:
            batch_op.add_column(sa.Column(column, sa.BigInteger(), nullable=True))
    for column in LENGTHS:
        for by in BY:
            op.create_index(f"ix_tickets_{column}{'_' + by if by else ''}", 'tickets',
                            [by, column] if by else [column], unique=False,
                            sqlite_where=sa.text(f'{column} IS NOT NULL'),
                            postgresql_where=sa.text(f'{column} IS NOT NULL'))
    for column in DUES:
        op.create_index(f'ix_tickets_open_{column}', 'tickets', [column], unique=False,
                        sqlite_where=OPEN, postgresql_where=OPEN)
    from datetime import datetime, timezone
    from models.kept_figures import rebuild
    from models.rollups import DEFAULT_ZONE
    with Session(bind=op.get_bind()) as session:
        rebuild(session, datetime.now(timezone.utc), DEFAULT_ZONE)
        session.flush()


def downgrade() -> None:
    for column in DUES:
        op.drop_index(f'ix_tickets_open_{column}', table_name='tickets')
    for column in LENGTHS:
        for by in BY:
            op.drop_index(f"ix_tickets_{column}{'_' + by if by else ''}", table_name='tickets')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        for column in reversed(LENGTHS):
            batch_op.drop_column(column)
    op.drop_table('rollup_ranks')
    op.drop_table('rollups')
