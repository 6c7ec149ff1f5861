"""search: word pairs, coarse buckets and feed lexemes for PostgreSQL's newest-first scans

A GIN index over a tsvector knows which stories hold each word but not where, so a phrase
("first kafka") is checked by rereading every story that holds all its words: about 100,000
rows for a common word and a technical one in a million stories, seconds of work. This
adds ``stories.search_pairs``: a stored generated array of hashed adjacent token pairs of
``search_title`` and ``search_body`` (22 bits, so collisions only add a few rows to recheck;
the tsvector still decides), plus the story's id buckets as negative numbers (the same
buckets as the tsvector's, for newest-first scans), with a GIN index. A phrase then reads the
stories that hold its pairs, and only those are checked in full.

``search_vector`` is regenerated with two more lexemes: "#c<id // 32000>", a coarse bucket, so
a scan over many buckets names a few coarse ones instead of OR-ing dozens of fine ones (GIN
reads every entry of an OR); and "#f<feed_id>" (the feed that stored the story), so GIN
intersects ``source:`` with the words instead of each of the feed's stories being read and
checked (the few stories another feed stored first are looked up apart). Both columns come
in one ALTER TABLE: the table is rewritten once.

SQLite needs none of it: FTS5 keeps positions in its index.

The key is md5-based rather than hashtext(): md5 is defined the same way on every server and
every version, so keys stored by one server are found by another after an upgrade.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 07:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept in step with migration 0002's caps (_PG_MAX_CHARS, _PG_ID_BUCKET) and with
# bot.storage.search_postgres (PG_ID_BUCKET, PG_COARSE_BUCKETS, PG_COARSE_KEY_BASE).
_PG_MAX_CHARS = 100_000
_PG_ID_BUCKET = 1_000
# A coarse bucket is this many buckets: one lexeme (or key) stands for a long stretch of
# ids, so a scan over many buckets does not OR together dozens of index entries.
_PG_COARSE_BUCKETS = 32
# Coarse bucket keys in search_pairs: far below every bucket key (-1 - id // 1000).
_PG_COARSE_KEY_BASE = -(2**29)
_PAIR_KEY_BITS = 22


def _vector(*, feed_lexeme: bool) -> str:
    """Migration 0002's generated tsvector, with 0003's coarse bucket and feed lexemes or
    without them."""
    coarse = _PG_ID_BUCKET * _PG_COARSE_BUCKETS
    extra = f", '#c' || (id / {coarse})::text, '#f' || feed_id::text" if feed_lexeme else ""
    return f"""
        setweight(to_tsvector('simple'::regconfig, left(search_title, {_PG_MAX_CHARS})), 'A')
        || setweight(to_tsvector('simple'::regconfig, left(search_body, {_PG_MAX_CHARS})), 'B')
        || array_to_tsvector(ARRAY['#' || (id / {_PG_ID_BUCKET})::text{extra}])
    """


def _replace_vector(*, feed_lexeme: bool) -> str:
    return f"""
        DROP COLUMN search_vector,
        ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_vector(feed_lexeme=feed_lexeme)})
            STORED
    """


_PG_UP = [
    # A pair "a b" as a number in [0, 2**22): 4 million keys bound the index's key count;
    # a key's stories are the pair's own plus about 30 strangers per million stories.
    f"""
    CREATE FUNCTION tb_search_pair_key(pair text) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ('x' || left(md5(pair), 8))::bit(32)::integer & {2**_PAIR_KEY_BITS - 1}
    """,
    # Pairs never span title and body (FTS5 keeps them apart as columns too); a story with
    # no pair at all still carries its buckets, so every row is in the index.
    f"""
    CREATE FUNCTION tb_search_pairs(title text, body text, story_id bigint) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY[
        (-1 - story_id / {_PG_ID_BUCKET})::integer,
        ({_PG_COARSE_KEY_BASE} - story_id / {_PG_ID_BUCKET * _PG_COARSE_BUCKETS})::integer
    ] || ARRAY(
            SELECT DISTINCT tb_search_pair_key(w.tok || ' ' || w.nxt)
            FROM (
                SELECT u.tok, lead(u.tok) OVER (PARTITION BY u.col ORDER BY u.pos) AS nxt
                FROM (
                    SELECT 1 AS col, a.tok, a.pos
                    FROM unnest(string_to_array(left(title, {_PG_MAX_CHARS}), ' '))
                        WITH ORDINALITY AS a(tok, pos)
                    UNION ALL
                    SELECT 2, b.tok, b.pos
                    FROM unnest(string_to_array(left(body, {_PG_MAX_CHARS}), ' '))
                        WITH ORDINALITY AS b(tok, pos)
                ) AS u
            ) AS w
            WHERE w.nxt IS NOT NULL AND w.tok <> '' AND w.nxt <> ''
        )
    """,
    # Dropping the column drops its index too; both are rebuilt below.
    f"""
    ALTER TABLE stories
        {_replace_vector(feed_lexeme=True)},
        ADD COLUMN search_pairs integer[] GENERATED ALWAYS AS (
            tb_search_pairs(search_title, search_body, id)
        ) STORED
    """,
    "CREATE INDEX ix_stories_search_vector ON stories USING gin (search_vector)",
    "CREATE INDEX ix_stories_search_pairs ON stories USING gin (search_pairs)",
]

_PG_DOWN = [
    "DROP INDEX IF EXISTS ix_stories_search_pairs",
    f"ALTER TABLE stories DROP COLUMN search_pairs, {_replace_vector(feed_lexeme=False)}",
    "CREATE INDEX ix_stories_search_vector ON stories USING gin (search_vector)",
    "DROP FUNCTION IF EXISTS tb_search_pairs(text, text, bigint)",
    "DROP FUNCTION IF EXISTS tb_search_pair_key(text)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _PG_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _PG_DOWN:
            op.execute(statement)
