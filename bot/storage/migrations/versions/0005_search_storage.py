"""search: stories.search_vector kept in the row (PostgreSQL), stories (feed_id, id) index

Ranking reads the tsvector of every candidate (up to the ranking window, 1000). Stored the
default way (EXTENDED) a story's vector, about 1.7 kB compressed, is moved out of line to
the TOAST table, and each read costs a TOAST index probe and chunk reads on top of the
decompression: measured 8-16 us per candidate on 1M stories, half of a search's time. MAIN
keeps it compressed in the row (the body text, the larger value, still goes out of line),
where reading it costs about a third.

Only the column's storage setting changes: nothing is rewritten, so rows stored before keep
their out-of-line vectors until they are rewritten (an update, or VACUUM FULL stories when
convenient). SQLite (FTS5) has no such column.

The feed_id index gains the id (both dialects, like 0004's date index): source: with words
finds the stories a feed links to but another feed stored first as the feed's story_keys
less its own stories, from indexes alone (PostgreSQL: 2 ms where reading each of the feed's
stories from the table took 11-32 ms). It replaces the feed_id index it extends.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE stories ALTER COLUMN search_vector SET STORAGE MAIN")
    op.create_index("ix_stories_feed_id_id", "stories", ["feed_id", "id"])
    op.drop_index("ix_stories_feed_id", table_name="stories")


def downgrade() -> None:
    op.create_index("ix_stories_feed_id", "stories", ["feed_id"])
    op.drop_index("ix_stories_feed_id_id", table_name="stories")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE stories ALTER COLUMN search_vector SET STORAGE EXTENDED")
