"""Expanding teaser feeds: fetch the article page when the feed only carries a few lines.

Polite by construction: robots.txt is honoured (fetched through the same injected fetcher, which
the composition root wires to the SSRF-guarded one, and cached per host), page fetches have
their own daily budget, and extraction (trafilatura, CPU-bound) runs off the event loop. Any
failure keeps the feed's own text: a teaser summary is better than none.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from bot.core.errors import HTTPStatusError
from bot.core.summarize.boilerplate import strip_boilerplate
from bot.core.summarize.budget import DailyBudget
from bot.core.summarize.tokens import count_words
from bot.core.summarize.types import SummaryInput
from bot.core.text import HEADING_MARK

log = logging.getLogger(__name__)

PageFetcher = Callable[[str], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class TeaserConfig:
    min_words: int = 120  # below this the feed text is a teaser
    user_agent: str = "techbrief"  # the product token matched against robots.txt groups
    robots_ttl_seconds: float = 24 * 3600.0
    max_robots_hosts: int = 4096
    max_text_chars: int = 40_000


@dataclass
class TeaserStats:
    expanded: int = 0
    pages_fetched: int = 0
    robots_denied: int = 0
    budget_exhausted: int = 0
    failures: int = 0


class TeaserExpander:
    def __init__(
        self,
        fetch: PageFetcher,
        config: TeaserConfig | None = None,
        *,
        budget: DailyBudget | None = None,
        executor: Executor | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._config = config or TeaserConfig()
        self._budget = budget
        self._executor = executor
        self._clock = clock
        self._robots: dict[str, tuple[float, RobotFileParser]] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self.stats = TeaserStats()

    def is_teaser(self, story: SummaryInput) -> bool:
        return count_words(story.text) < self._config.min_words

    async def expand(self, story: SummaryInput) -> SummaryInput:
        """The story with the article's main text when the feed gave only a teaser."""
        if not self.is_teaser(story) or not story.url:
            return story
        if story.kind != "article":
            # An episode's page is a player (YouTube, a podcast host): its show notes are all
            # the text there is.
            return story
        if urlsplit(story.url).scheme not in ("http", "https"):
            return story
        try:
            if not await self._allowed(story.url):
                self.stats.robots_denied += 1
                return story
            if self._budget is not None and not await self._budget.allow(1):
                self.stats.budget_exhausted += 1
                return story
            if self._budget is not None:
                await self._budget.spend(1)
            self.stats.pages_fetched += 1
            page = await self._fetch(story.url)
            text = await self._extract(page, story.url)
        except Exception as exc:  # any fetch or parse failure: keep the feed's text
            self.stats.failures += 1
            log.info("teaser expansion failed for %s: %r", story.url, exc)
            return story
        if not text or count_words(text) <= count_words(story.text):
            return story
        self.stats.expanded += 1
        return replace(story, text=text)

    async def _extract(self, page: bytes, url: str) -> str:
        if self._executor is None:
            raw = await asyncio.to_thread(extract_main_text, page, url)
        else:
            loop = asyncio.get_running_loop()
            raw = await loop.run_in_executor(self._executor, extract_main_text, page, url)
        return strip_boilerplate(raw)[: self._config.max_text_chars]

    async def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc.lower()}"
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:  # one robots.txt fetch per host, however many stories wait on it
            entry = self._robots.get(origin)
            if entry is None or self._clock() - entry[0] > self._config.robots_ttl_seconds:
                entry = (self._clock(), await self._load_robots(origin))
                if len(self._robots) >= self._config.max_robots_hosts:
                    oldest = next(iter(self._robots))
                    self._robots.pop(oldest)
                    if oldest != origin and not self._robots_locks[oldest].locked():
                        del self._robots_locks[oldest]
                self._robots[origin] = entry
        return entry[1].can_fetch(self._config.user_agent, url)

    async def _load_robots(self, origin: str) -> RobotFileParser:
        parser = RobotFileParser(origin + "/robots.txt")
        try:
            body = await self._fetch(origin + "/robots.txt")
        except HTTPStatusError as exc:
            # RFC 9309: 4xx means no rules; 5xx means the site is unreachable, so stay away.
            parser.parse(["User-agent: *", "Disallow: /"] if exc.status >= 500 else [])
            return parser
        except Exception:
            parser.parse([])  # missing or unreadable robots.txt: everything is allowed
            return parser
        parser.parse(body.decode("utf-8", errors="replace").splitlines())
        return parser


def extract_main_text(page: bytes, url: str) -> str:
    """Main text of an article page (blocking; run it in a thread or process)."""
    # Imported here: trafilatura pulls in lxml and friends, which only teaser pages need.
    import trafilatura

    text = trafilatura.extract(
        page,
        url=url,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        # Headings come back as markdown ("## Results"): the summariser groups points under them.
        include_formatting=True,
        favor_precision=True,
        output_format="txt",
        # No deduplicate=True: its cache is process-global, so a second story pointing at
        # the same page (or a re-fetch) would come back empty.
    )
    return _marked_headings(text or "")


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MD_BOLD_LINE = re.compile(r"^(\*\*|__)([^*_\n]{1,100}?)\1$")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")


def _marked_headings(text: str) -> str:
    """trafilatura's markdown-ish text in the feed text's convention: section headings as
    ``HEADING_MARK`` lines, the page's own title (``#``) dropped, emphasis markers removed."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        heading = _MD_HEADING.match(stripped)
        if heading:
            if len(heading[1]) > 1:
                lines.append(HEADING_MARK + heading[2])
            continue
        bold = _MD_BOLD_LINE.match(stripped)
        if bold and bold[2][-1] not in ".!?。":
            lines.append(HEADING_MARK + bold[2].strip())
            continue
        lines.append(_MD_EMPHASIS.sub(lambda m: m[2] or m[3], line))
    return "\n".join(lines).strip()
