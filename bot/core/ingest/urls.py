"""Canonical story URLs and safe resolution of feed links.

Two feeds (or two fetches of one feed) that point at the same article must produce the same
canonical URL (invariant 1), so everything that varies per referrer — tracking parameters,
fragments, host case, default ports — is stripped, while the meaningful query parameters are kept
byte-for-byte and in their original order (re-encoding them could turn one article into two).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

_HTTP_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Exact parameter names (lower-cased) that only identify the referrer or a campaign.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gclsrc",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ref",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
    }
)
_TRACKING_PREFIXES = ("utm_",)
# Medium appends ?source=rss----<id>---N to every item link, also on custom domains
# (netflixtechblog.com is Medium), so the host alone cannot tell us it is Medium.
_MEDIUM_SOURCE = re.compile(r"^rss[-_]", re.IGNORECASE)


def _is_medium_host(host: str) -> bool:
    return host == "medium.com" or host.endswith(".medium.com")


def _is_tracking(name: str, value: str, host: str) -> bool:
    lowered = name.lower()
    if lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES):
        return True
    return lowered == "source" and (_is_medium_host(host) or bool(_MEDIUM_SOURCE.match(value)))


def canonical_url(url: str | None, *, keep_fragment: bool = False) -> str | None:
    """The canonical form of an absolute http(s) URL, or None when it is not one.

    ``keep_fragment`` is for story keys: newsletter and changelog feeds tell their items apart
    only by ``#anchor``, while the shared canonical URL (cross-feed identity) drops it.
    """
    without, with_fragment = canonical_urls(url)
    return with_fragment if keep_fragment else without


def canonical_urls(url: str | None) -> tuple[str | None, str | None]:
    """``canonical_url(url)`` and ``canonical_url(url, keep_fragment=True)`` from one parse:
    normalising an item needs both (its canonical URL and its link key)."""
    if not url:
        return None, None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None, None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in _HTTP_SCHEMES or not host:
        return None, None
    if ":" in host:  # IPv6 literal: urlsplit strips the brackets
        host = f"[{host}]"
    netloc = host
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{host}"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    kept: list[str] = []
    for pair in parts.query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if not _is_tracking(name, value, host):
            kept.append(pair)
    head = (scheme, netloc, parts.path or "/", "&".join(kept))
    without = urlunsplit((*head, ""))
    return without, urlunsplit((*head, parts.fragment)) if parts.fragment else without


def resolve_url(base: str | None, href: str | None) -> str | None:
    """``href`` made absolute against ``base``; None unless the result is http(s)."""
    if not href:
        return None
    href = href.strip()
    if not href:
        return None
    try:
        absolute = urljoin(base, href) if base else href
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in _HTTP_SCHEMES or not parts.netloc:
        return None
    return absolute


def host_of(url: str) -> str:
    """Lower-cased host of ``url`` ('' when there is none); used for per-host limits."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def feed_url_spellings(url: str) -> list[str]:
    """``url`` first, then the other spellings the fetcher would see as the same address:
    scheme and host in lower case, the default port dropped, no fragment (never sent), and
    the path with and without its trailing slash. The query is kept as it is: a feed's
    parameters can select a different feed. Used to tell that a feed is already tracked."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return [url]
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        host = f"{userinfo}@{host}"
    path = parts.path or "/"
    paths = [path, path.rstrip("/") or "/", path if path.endswith("/") else path + "/"]
    spellings = [url]
    for p in paths:
        spellings.append(urlunsplit((scheme, host, p, parts.query, "")))
    if parts.path == "":
        spellings.append(urlunsplit((scheme, host, "", parts.query, "")))
    return list(dict.fromkeys(spellings))
