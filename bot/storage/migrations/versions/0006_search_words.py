"""search (PostgreSQL): each story's words keyed by its id segment, for newest-first scans

Two words that are each common but rarely meet ("anomaly cost": 64,000 and 55,000 stories,
3,700 with both) were PostgreSQL's slowest searches: GIN has no order, so finding the
newest thousand meant either reading every story with both words (3,700 row visits) or
intersecting the words with id buckets, which costs a pass over every story of each bucket
(over a quarter of the table here). 15-45 ms either way on 1M stories.

This adds ``stories.search_words``: a stored generated array with one key per distinct
token of ``search_title`` and ``search_body``, hashed together with the story's id segment
(``id // 32000``, migration 0003's coarse bucket), with a GIN index. A word's key for one
segment is a posting list of only that segment's stories with the word, so "both words in
the newest N segments" is a GIN intersection of short lists: 2 ms for the case above. The
keys are 32 bits of md5 (the same on every server and version); a collision only adds a row
that the tsvector check then drops.

Adding the column rewrites ``stories`` once (about 90 s per million stories to compute the
keys) and builds one index (about 90 s and 450 MB per million stories).

SQLite needs none of it: FTS5 walks a word's stories newest first.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept in step with migration 0002's cap (_PG_MAX_CHARS) and with bot.storage.search_postgres
# (WORD_SEGMENT, word_key).
_PG_MAX_CHARS = 100_000
_WORD_SEGMENT = 32_000

_PG_UP = [
    """
    CREATE FUNCTION tb_search_word_key(word text, segment bigint) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ('x' || left(md5(word || '#' || segment::text), 8))::bit(32)::integer
    """,
    f"""
    CREATE FUNCTION tb_search_words(title text, body text, story_id bigint) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY(
        SELECT tb_search_word_key(w.tok, story_id / {_WORD_SEGMENT})
        FROM (
            SELECT DISTINCT tok
            FROM unnest(string_to_array(
                left(coalesce(title, ''), {_PG_MAX_CHARS}) || ' '
                    || left(coalesce(body, ''), {_PG_MAX_CHARS}),
                ' '
            )) AS tok
        ) AS w
        WHERE w.tok <> ''
    )
    """,
    """
    ALTER TABLE stories ADD COLUMN search_words integer[] GENERATED ALWAYS AS (
        tb_search_words(search_title, search_body, id)
    ) STORED
    """,
    "CREATE INDEX ix_stories_search_words ON stories USING gin (search_words)",
]

_PG_DOWN = [
    "DROP INDEX IF EXISTS ix_stories_search_words",
    "ALTER TABLE stories DROP COLUMN IF EXISTS search_words",
    "DROP FUNCTION IF EXISTS tb_search_words(text, text, bigint)",
    "DROP FUNCTION IF EXISTS tb_search_word_key(text, bigint)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _PG_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _PG_DOWN:
            op.execute(statement)
