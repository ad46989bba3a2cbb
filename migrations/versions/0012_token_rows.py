"""token rows: WeCom's access token named by corp id and agent id, never by the secret

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

wechatpy named a WeCom app's token row `{corp_id}_{secret[:10]}_access_token`: the start
of the app's secret, in clear, in the database. Tokens are a cache that every process
renews on its next call, so the old rows are simply dropped.
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM access_tokens WHERE key NOT LIKE 'wecom:%' AND key LIKE '%\\_%\\_access\\_token' ESCAPE '\\'")


def downgrade() -> None:
    op.execute("DELETE FROM access_tokens WHERE key LIKE 'wecom:%'")
