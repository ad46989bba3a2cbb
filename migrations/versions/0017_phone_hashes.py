"""owners' phones: a keyed hash and the last four digits instead of the number (issue 18, item 10)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Each stored phone becomes HMAC-SHA256(key, phone) and its last four digits, with the key the
app hashes with (`[security] hash_key`, else derived from `[wechat] app_secret`), handed over
by models.migrate.upgrade (`flask init-db` does). With owners to convert and no key, the
migration stops rather than guess one. Downgrading cannot bring the numbers back: each owner
gets a placeholder, and the register must be imported again.
"""
import hashlib
import hmac

from alembic import context, op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

owners = sa.table('owners', sa.column('id', sa.Integer()), sa.column('phone', sa.String()),
                  sa.column('phone_hash', sa.String()), sa.column('phone_tail', sa.String()))



def upgrade() -> None:
    with op.batch_alter_table('owners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('phone_tail', sa.String(length=4), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(owners.c.id, owners.c.phone)).all()
    key = context.config.attributes.get("hash_key")
    if rows and not key:
        raise RuntimeError("owners' phones can only be hashed with the app's key: "
                           "run `flask --app app init-db`, which hands it to the migration")
    for owner_id, phone in rows:
        connection.execute(owners.update().where(owners.c.id == owner_id).values(
            phone_hash=hmac.new(key, phone.encode("utf-8"), hashlib.sha256).hexdigest(),
            phone_tail=phone[-4:]))
    with op.batch_alter_table('owners', schema=None) as batch_op:
        batch_op.alter_column('phone_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('phone_tail', existing_type=sa.String(length=4), nullable=False)
        batch_op.drop_constraint('uq_owners_phone', type_='unique')
        batch_op.drop_column('phone')
        batch_op.create_unique_constraint(batch_op.f('uq_owners_phone_hash'), ['phone_hash'])


def downgrade() -> None:
    with op.batch_alter_table('owners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))
    op.execute("UPDATE owners SET phone = 'unknown-' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table('owners', schema=None) as batch_op:
        batch_op.alter_column('phone', existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_constraint('uq_owners_phone_hash', type_='unique')
        batch_op.drop_column('phone_tail')
        batch_op.drop_column('phone_hash')
        batch_op.create_unique_constraint(batch_op.f('uq_owners_phone'), ['phone'])
