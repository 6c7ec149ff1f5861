"""subscriptions: a role to ping and the kind of channel; deliveries: forum post requested

Three nullable or defaulted columns, so the change is instant on both backends and moves no
data: ``subscriptions.ping_role_id`` (the role a brief's header mentions, NULL = nobody),
``subscriptions.channel_kind`` ('text' | 'forum'; existing channels are text channels) and
``deliveries.post_requested_at`` (when a forum post was asked for; a retry that finds it set
but no thread recorded looks the post up instead of creating a second one).

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("ping_role_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "subscriptions",
        sa.Column("channel_kind", sa.String(8), nullable=False, server_default="text"),
    )
    op.add_column(
        "deliveries",
        sa.Column("post_requested_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("post_requested_at")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("channel_kind")
        batch.drop_column("ping_role_id")
