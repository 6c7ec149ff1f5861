"""The bookmark tests' world (feeds, stories, story keys) serves the share tests too."""

from tests.bookmarks.conftest import world

__all__ = ["world"]
