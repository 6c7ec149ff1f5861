"""shares: stories readers shared into a channel with a comment (/share)

Who shared which story where and when, and the message it became; read by the per-user
cooldown and by "already shared in this channel today". A new empty table: instant on both
backends.

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("story_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("shared_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_shares_story_id_stories", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_shares"),
    )
    op.create_index(
        "ix_shares_story_id_channel_id_shared_at",
        "shares",
        ["story_id", "channel_id", "shared_at"],
    )
    op.create_index("ix_shares_user_id_shared_at", "shares", ["user_id", "shared_at"])


def downgrade() -> None:
    op.drop_index("ix_shares_user_id_shared_at", table_name="shares")
    op.drop_index("ix_shares_story_id_channel_id_shared_at", table_name="shares")
    op.drop_table("shares")
