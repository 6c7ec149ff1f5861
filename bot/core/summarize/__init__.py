"""Story summaries: lead, key points, takeaway — extractive by default, an LLM optionally.

Public API (everything the composition root and the renderer need)::

    ExtractiveSummarizer(config=None, executor=None).summarize(story) -> Summary
    LLMSummarizer(session, LLMConfig(...), fallback=, budget=, cache=, stats=).summarize(story)
    TeaserExpander(fetch, TeaserConfig(...), budget=, executor=).expand(story) -> SummaryInput
    format_summary(summary, limit=, escape=) -> str
    digest_formatter(data, limit) -> str | None       # render.DigestFormatter for stored rows

Storage wiring lives in ``bot.core.summarize.service`` (SummaryService, build_summary_service),
imported from there: it depends on ``bot.storage``, which imports this package.

Nothing here imports discord or the settings; configuration arrives as frozen dataclasses.
"""

from bot.core.summarize.boilerplate import is_boilerplate, strip_boilerplate
from bot.core.summarize.budget import DailyBudget, InMemoryDailyBudget, TokenBudget
from bot.core.summarize.cache import InMemorySummaryCache, SummaryCache, summary_content_hash
from bot.core.summarize.digest import digest_formatter
from bot.core.summarize.extractive import (
    ExtractiveConfig,
    ExtractiveSummarizer,
    summarize_extractive,
)
from bot.core.summarize.format import format_summary
from bot.core.summarize.llm import FALLBACK_REASONS, LLMConfig, LLMStats, LLMSummarizer
from bot.core.summarize.llm_output import OutputLimits
from bot.core.summarize.sentences import split_sentences
from bot.core.summarize.teaser import PageFetcher, TeaserConfig, TeaserExpander, TeaserStats
from bot.core.summarize.types import Section, Summarizer, Summary, SummaryInput

__all__ = [
    "FALLBACK_REASONS",
    "DailyBudget",
    "ExtractiveConfig",
    "ExtractiveSummarizer",
    "InMemoryDailyBudget",
    "InMemorySummaryCache",
    "LLMConfig",
    "LLMStats",
    "LLMSummarizer",
    "OutputLimits",
    "PageFetcher",
    "Section",
    "Summarizer",
    "Summary",
    "SummaryCache",
    "SummaryInput",
    "TeaserConfig",
    "TeaserExpander",
    "TeaserStats",
    "TokenBudget",
    "digest_formatter",
    "format_summary",
    "is_boilerplate",
    "split_sentences",
    "strip_boilerplate",
    "summarize_extractive",
    "summary_content_hash",
]
