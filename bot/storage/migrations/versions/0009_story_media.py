"""stories: podcasts and videos (kind, duration, play link)

Three columns, all with defaults or nullable, so existing rows stay valid articles and the
change is instant on both backends (no table rewrite): ``kind`` ('article' | 'podcast' |
'video'), ``duration_s`` (seconds, when the feed gives it) and ``media_url`` (the enclosure or
watch page). A stored episode gets its media on the next poll of its feed: its content hash
now includes them, so it is updated once (never re-announced).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "stories", sa.Column("kind", sa.String(16), nullable=False, server_default="article")
    )
    op.add_column("stories", sa.Column("duration_s", sa.Integer(), nullable=True))
    op.add_column("stories", sa.Column("media_url", sa.String(2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stories") as batch:
        batch.drop_column("media_url")
        batch.drop_column("duration_s")
        batch.drop_column("kind")
