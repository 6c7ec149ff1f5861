"""Summaries from any OpenAI-compatible chat-completions endpoint, with a safe fallback.

Order of business for each story: results cache (never pay twice) -> daily token budget (no
call once spent) -> one request with a hard timeout -> strict validation of the JSON -> cache.
Any failure returns the fallback summarizer's result (extractive by default) and counts why.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.core.summarize.budget import TokenBudget
from bot.core.summarize.cache import SummaryCache, summary_content_hash
from bot.core.summarize.extractive import ExtractiveSummarizer
from bot.core.summarize.llm_output import InvalidOutput, OutputLimits, parse_completion
from bot.core.summarize.llm_prompt import build_messages, estimate_tokens
from bot.core.summarize.types import Summarizer, Summary, SummaryInput

log = logging.getLogger(__name__)

FALLBACK_REASONS = ("budget", "timeout", "http_error", "invalid_json", "invalid_shape")


@dataclass(frozen=True, slots=True)
class LLMConfig:
    base_url: str  # e.g. "https://api.example.com/v1" — "/chat/completions" is appended
    model: str
    # The caller reads it from the environment; kept out of repr so it never reaches a log.
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    max_input_chars: int = 12_000
    max_tokens: int = 800
    temperature: float = 0.2
    max_response_bytes: int = 1_000_000
    limits: OutputLimits = field(default_factory=OutputLimits)


@dataclass
class LLMStats:
    """Counters for the metrics endpoint; mutated only by the summarizer that owns it."""

    calls: int = 0
    successes: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    fallbacks: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, int]:
        out = {
            "calls": self.calls,
            "successes": self.successes,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cache_hits": self.cache_hits,
        }
        for reason in FALLBACK_REASONS:
            out[f"fallback_{reason}"] = self.fallbacks.get(reason, 0)
        return out


class _CallFailed(Exception):
    def __init__(self, reason: str, spent: int = 0) -> None:
        self.reason = reason
        self.spent = spent
        super().__init__(reason)


class LLMSummarizer:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: LLMConfig,
        *,
        fallback: Summarizer | None = None,
        budget: TokenBudget | None = None,
        cache: SummaryCache | None = None,
        stats: LLMStats | None = None,
    ) -> None:
        self._session = session
        self._config = config
        self._fallback = fallback or ExtractiveSummarizer()
        self._budget = budget
        self._cache = cache
        self.stats = stats or LLMStats()

    async def summarize(self, story: SummaryInput) -> Summary:
        key = summary_content_hash(story)
        cached = await self._cache_get(key)
        if cached is not None:
            self.stats.cache_hits += 1
            return cached

        messages = build_messages(story, self._config.max_input_chars)
        estimate = estimate_tokens(messages) + self._config.max_tokens
        if not await self._budget_allows(estimate):
            return await self._fall_back(story, "budget")

        self.stats.calls += 1
        spent = 0
        try:
            content, spent = await self._complete(messages, estimate)
            summary = parse_completion(content, own_url=story.url, limits=self._config.limits)
        except _CallFailed as exc:
            spent = exc.spent
            return await self._fall_back(story, exc.reason)
        except InvalidOutput as exc:
            log.info("LLM output rejected for %s: %s", story.url, exc)
            return await self._fall_back(story, exc.reason)
        finally:
            if self._budget is not None and spent:
                await self._budget.spend(spent)

        self.stats.successes += 1
        if self._cache is not None:
            try:
                await self._cache.put(key, self._config.model, summary)
            except Exception:  # a storage hiccup must not cost the summary we paid for
                log.warning("summary cache put failed", exc_info=True)
        return summary

    async def _cache_get(self, key: str) -> Summary | None:
        if self._cache is None:
            return None
        try:
            return await self._cache.get(key, self._config.model)
        except Exception:  # a broken cache means "miss", not "no summary"
            log.warning("summary cache get failed", exc_info=True)
            return None

    async def _budget_allows(self, estimate: int) -> bool:
        if self._budget is None:
            return True
        try:
            return await self._budget.allow(estimate)
        except Exception:  # when spending cannot be checked, do not spend
            log.warning("token budget check failed", exc_info=True)
            return False

    async def _fall_back(self, story: SummaryInput, reason: str) -> Summary:
        self.stats.fallbacks[reason] += 1
        return await self._fallback.summarize(story)

    async def _complete(self, messages: list[dict[str, str]], estimate: int) -> tuple[str, int]:
        """One request; returns the message content and the tokens it cost."""
        cfg = self._config
        url = cfg.base_url.rstrip("/") + "/chat/completions"
        body = {
            "model": cfg.model,
            "messages": messages,
            "response_format": {"type": "json_object"},
            "max_tokens": cfg.max_tokens,
            "temperature": cfg.temperature,
        }
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if cfg.api_key:
            headers["Authorization"] = f"Bearer {cfg.api_key}"
        try:
            # Both: aiohttp's timeout covers the connection, asyncio's the whole exchange.
            async with asyncio.timeout(cfg.timeout):
                async with self._session.post(
                    url,
                    json=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=cfg.timeout),
                ) as resp:
                    raw = await _read_capped(resp, cfg.max_response_bytes)
                    status = resp.status
        except TimeoutError:
            # The server may have worked on it: count the estimate against the budget.
            raise _CallFailed("timeout", estimate) from None
        except (aiohttp.ClientError, ValueError) as exc:
            log.info("LLM request failed: %s", exc)
            raise _CallFailed("http_error") from None
        if status != 200:
            log.info("LLM endpoint answered HTTP %s", status)
            raise _CallFailed("http_error")

        try:
            envelope = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _CallFailed("invalid_json", estimate) from None
        spent = self._record_usage(envelope, estimate)
        content = _message_content(envelope)
        if content is None:
            raise _CallFailed("invalid_shape", spent)
        return content, spent

    def _record_usage(self, envelope: Any, estimate: int) -> int:
        usage = envelope.get("usage") if isinstance(envelope, dict) else None
        if isinstance(usage, dict):
            prompt = usage.get("prompt_tokens")
            completion = usage.get("completion_tokens")
            if isinstance(prompt, int) and isinstance(completion, int):
                self.stats.prompt_tokens += max(0, prompt)
                self.stats.completion_tokens += max(0, completion)
                return max(0, prompt) + max(0, completion)
        return estimate  # a server that reports no usage is charged our estimate


def _message_content(envelope: Any) -> str | None:
    if not isinstance(envelope, dict):
        return None
    choices = envelope.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message")
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    return content if isinstance(content, str) else None


async def _read_capped(resp: aiohttp.ClientResponse, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > cap:
            raise ValueError(f"response larger than {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
