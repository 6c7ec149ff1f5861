"""guilds: the guild's preferred locale (briefs are written in it)

One nullable column, no data moved: a guild's language is recorded the next time it is seen
(GUILD_CREATE at start-up, /brief setup), and until then its briefs stay English, as before.

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("guilds", sa.Column("locale", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("guilds") as batch:
        batch.drop_column("locale")
