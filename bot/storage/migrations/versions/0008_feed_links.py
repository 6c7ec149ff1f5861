"""feed_links: servers follow shared feeds; feeds.final_url: where a feed's URL leads

A second server adding a feed another one added now links to the same row instead of being
refused, so the feed is fetched once however many servers follow it. Visibility moves from
``feeds.added_by_guild_id`` (kept as history: who added it first) to this table; today's
owners become the first links of their active custom and OPML feeds, with the feed's own
``created_at``. ``final_url`` records the redirect target of the last good fetch, so
``http://x/feed`` and ``https://x/feed/`` are recognised as one feed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.storage.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_links",
        sa.Column("feed_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_feed_links_feed_id_feeds", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("feed_id", "guild_id", name="pk_feed_links"),
    )
    op.create_index("ix_feed_links_guild_id", "feed_links", ["guild_id"])
    op.execute(
        "INSERT INTO feed_links (feed_id, guild_id, created_at) "
        "SELECT id, added_by_guild_id, created_at FROM feeds "
        "WHERE added_by_guild_id IS NOT NULL AND origin <> 'catalog' AND active"
    )
    op.add_column("feeds", sa.Column("final_url", sa.String(2048), nullable=True))
    op.create_index("ix_feeds_final_url", "feeds", ["final_url"])


def downgrade() -> None:
    op.drop_index("ix_feeds_final_url", table_name="feeds")
    # A plain DROP COLUMN on both backends (SQLite 3.35+): a batch copy of ``feeds`` would
    # drop the table, and with foreign keys on that cascades into every story.
    op.execute("ALTER TABLE feeds DROP COLUMN final_url")
    op.drop_index("ix_feed_links_guild_id", table_name="feed_links")
    op.drop_table("feed_links")
