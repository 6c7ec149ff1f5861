"""Sharing a story into a channel with a reader's comment (``/share``, *Share story*).

Offered here (pure): the data the service hands out and refuses with (``PreparedShare``,
``ShareLink``, ``AlreadyShared``, ``ShareCooldown``). The service,
``bot.core.share.service.ShareService`` (reserve a share, then mark it posted or abandon it),
needs the database and is imported from its module, because the storage layer imports this
package's types. The message itself is rendered by ``bot.core.briefs.render_share``.
"""

from bot.core.share.types import AlreadyShared, PreparedShare, RecentShare, ShareCooldown, ShareLink

__all__ = ["AlreadyShared", "PreparedShare", "RecentShare", "ShareCooldown", "ShareLink"]
