"""Private bookmarks: a reader's saved stories with notes and tags, and their exports.

Offered here (pure: no I/O): the data the service hands out (``SavedBookmark``, ``AddResult``,
``BookmarkPage``) and the export formats (``export.to_markdown``, ``export.to_netscape_html``,
``export.to_json``). The service, ``bot.core.bookmarks.service.BookmarkService`` (save, note,
tag, list, remove, export; every call scoped to the acting user in SQL), needs the database and
is imported from its module, because the storage layer imports this package's types.
"""

from bot.core.bookmarks import export
from bot.core.bookmarks.types import AddResult, BookmarkPage, SavedBookmark

__all__ = ["AddResult", "BookmarkPage", "SavedBookmark", "export"]
