"""console: operators, their sessions, failed sign-ins and the audit log

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

New tables only; nothing existing changes.
"""
from alembic import op
import sqlalchemy as sa
import models.db


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures'))
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_failures_address'), ['address'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failures_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failures_name'), ['name'], unique=False)

    op.create_table('operators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=True),
    sa.Column('community', sa.String(length=100), nullable=True),
    sa.Column('street', sa.String(length=100), nullable=True),
    sa.Column('buildings', sa.String(length=200), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_operators_estate_id_estates')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_operators_staff_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operators')),
    sa.UniqueConstraint('name', name=op.f('uq_operators_name'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('operator_name', sa.String(length=50), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=100), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('changes', sa.Text(), nullable=False),
    sa.Column('changed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_audit_log_estate_id_estates')),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_audit_log_operator_id_operators'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_estate_id'), ['estate_id'], unique=False)

    op.create_table('console_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seen_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_console_sessions_operator_id_operators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_console_sessions'))
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_operator_id'), ['operator_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_operator_id'))

    op.drop_table('console_sessions')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_estate_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    op.drop_table('operators')
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_name'))
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_at'))
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_address'))

    op.drop_table('sign_in_failures')
