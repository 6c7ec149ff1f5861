"""The exception tree of techbrief.

Every error the project raises on purpose derives from :class:`TechbriefError`, so callers
(CLI, cogs, scheduler) can catch the whole family, and each branch carries the facts a user
needs in a one-line message (``str(exc)``), never a traceback::

    TechbriefError
    ├── ConfigError               bad settings or catalog: file, key, value, reason
    ├── FetchError                a feed or page could not be read (url, reason)
    │   ├── HTTPStatusError       a non-success status (status)
    │   ├── BackpressureError     429/503: come back after retry_after seconds
    │   ├── FetchTimeout
    │   ├── BodyTooLarge          over the decompressed body cap
    │   ├── TooManyRedirects
    │   └── BlockedAddressError   the SSRF guard refused the scheme or connected address
    ├── ParseError                bytes that are not a feed
    ├── UserInputError            a bad argument from a person: shown to them as is
    │   └── QueryError            a search query that cannot be run
    └── NotFoundError             something a user named does not exist (for them)
"""

from __future__ import annotations


class TechbriefError(Exception):
    """Base of every deliberate techbrief error; ``str()`` is a user-readable sentence.

    A message shown to users is written as a template with named fields
    (``UserInputError("No feed called {key}.", key=key)``): ``str()`` is the English text,
    and the reply translates ``template`` through the catalogs and fills in ``fields``.
    """

    def __init__(self, *args: object, **fields: object) -> None:
        self.template: str | None = args[0] if args and isinstance(args[0], str) else None
        self.fields: dict[str, object] = fields
        if fields and self.template is not None:
            args = (self.template.format(**fields), *args[1:])
        super().__init__(*args)


class ConfigError(TechbriefError):
    def __init__(self, source: str, key: str, value: object, reason: str) -> None:
        self.source = source
        self.key = key
        self.value = value
        self.reason = reason
        shown = "" if value is None else f" = {value!r}"
        super().__init__(f"{source}: {key}{shown}: {reason}")


class FetchError(TechbriefError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(reason)


class HTTPStatusError(FetchError):
    def __init__(self, url: str, status: int, reason: str | None = None) -> None:
        self.status = status
        super().__init__(url, reason or f"HTTP {status}")


class BackpressureError(HTTPStatusError):
    """The server asked us to slow down (429, or 503 with Retry-After). Not a failure."""

    def __init__(self, url: str, status: int, retry_after: float | None) -> None:
        self.retry_after = retry_after
        wait = f", retry after {retry_after:.0f}s" if retry_after is not None else ""
        super().__init__(url, status, f"HTTP {status} (server asked to slow down{wait})")


class FetchTimeout(FetchError):
    pass


class BodyTooLarge(FetchError):
    pass


class TooManyRedirects(FetchError):
    pass


class BlockedAddressError(FetchError):
    pass


class ParseError(TechbriefError):
    pass


class UserInputError(TechbriefError):
    """Something a person typed is wrong; the message is shown to them verbatim."""


class QueryError(UserInputError):
    pass


class NotFoundError(TechbriefError):
    pass
