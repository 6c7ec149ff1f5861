"""full-text search index over stories.search_title / search_body

SQLite: an FTS5 external-content table (the text lives once, in ``stories``) kept in step by
triggers. PostgreSQL: a stored generated tsvector column (title weight A, body weight B, plus an
id-bucket lexeme) with a GIN index, so no code path can forget to update it.

Both index text that bot.core.search.segment.searchable_text already reduced to plain
letter/digit tokens (CJK as bigrams), so ``unicode61`` and the ``simple`` configuration split
it identically; neither folds diacritics on its own (searchable_text does, the same way).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept in step with bot.core.search.segment.MAX_SEARCH_CHARS: PostgreSQL refuses tsvectors
# over 1 MiB, so an over-long text written around the repository must not break inserts.
_PG_MAX_CHARS = 100_000

# One lexeme per 1,000 ids ("#0", "#1"...): GIN can then find "the newest matches" by
# intersecting the words with the newest buckets, without reading older rows. No user token
# can collide: search text holds only letters and digits. (bot.storage.search_postgres.PG_ID_BUCKET)
_PG_ID_BUCKET = 1_000

_SQLITE_UP = [
    # Column names equal the content table's, which FTS5's 'rebuild' and reads rely on.
    """
    CREATE VIRTUAL TABLE stories_fts USING fts5(
        search_title, search_body,
        content='stories', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0'
    )
    """,
    """
    CREATE TRIGGER stories_fts_ai AFTER INSERT ON stories BEGIN
        INSERT INTO stories_fts(rowid, search_title, search_body)
        VALUES (new.id, new.search_title, new.search_body);
    END
    """,
    # An external-content delete must be told the old values: that is what was indexed.
    """
    CREATE TRIGGER stories_fts_ad AFTER DELETE ON stories BEGIN
        INSERT INTO stories_fts(stories_fts, rowid, search_title, search_body)
        VALUES ('delete', old.id, old.search_title, old.search_body);
    END
    """,
    # Only when the search text changes: refreshing fetch metadata must not churn the index.
    """
    CREATE TRIGGER stories_fts_au AFTER UPDATE OF search_title, search_body ON stories BEGIN
        INSERT INTO stories_fts(stories_fts, rowid, search_title, search_body)
        VALUES ('delete', old.id, old.search_title, old.search_body);
        INSERT INTO stories_fts(rowid, search_title, search_body)
        VALUES (new.id, new.search_title, new.search_body);
    END
    """,
    # Index the stories that already exist.
    "INSERT INTO stories_fts(stories_fts) VALUES ('rebuild')",
]

_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS stories_fts_au",
    "DROP TRIGGER IF EXISTS stories_fts_ad",
    "DROP TRIGGER IF EXISTS stories_fts_ai",
    "DROP TABLE IF EXISTS stories_fts",
]

_PG_UP = [
    f"""
    ALTER TABLE stories ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, left(search_title, {_PG_MAX_CHARS})), 'A')
        || setweight(to_tsvector('simple'::regconfig, left(search_body, {_PG_MAX_CHARS})), 'B')
        || array_to_tsvector(ARRAY['#' || (id / {_PG_ID_BUCKET})::text])
    ) STORED
    """,
    "CREATE INDEX ix_stories_search_vector ON stories USING gin (search_vector)",
]

_PG_DOWN = [
    "DROP INDEX IF EXISTS ix_stories_search_vector",
    "ALTER TABLE stories DROP COLUMN IF EXISTS search_vector",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(_SQLITE_UP)
    elif dialect == "postgresql":
        _run(_PG_UP)
    else:
        raise NotImplementedError(f"no search index for {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(_SQLITE_DOWN)
    elif dialect == "postgresql":
        _run(_PG_DOWN)
