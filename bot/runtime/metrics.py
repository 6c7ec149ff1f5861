"""Prometheus metrics on a registry owned by the running bot (no process-global registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.feeds_polled = Counter(
            "techbrief_feeds_polled", "Feed polls by result", ["result"], registry=r
        )
        self.feeds_failed = Counter("techbrief_feeds_failed", "Feed polls that failed", registry=r)
        self.stories_stored = Counter(
            "techbrief_stories_stored", "Stories written, new or updated", ["kind"], registry=r
        )
        self.messages_sent = Counter(
            "techbrief_messages_sent", "Messages posted to Discord", ["kind"], registry=r
        )
        self.discord_requests = Counter(
            "techbrief_discord_requests",
            "Discord REST responses by status class",
            ["status"],
            registry=r,
        )
        self.discord_429 = Counter(
            "techbrief_discord_rate_limited", "Discord 429 responses", registry=r
        )
        self.interaction_latency = Histogram(
            "techbrief_interaction_latency_seconds",
            "Time from receiving an interaction to finishing its handler",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30),
            registry=r,
        )
        self.llm_tokens = Counter(
            "techbrief_llm_tokens", "Language-model tokens spent", ["kind"], registry=r
        )
        self.llm_calls = Counter(
            "techbrief_llm_calls", "Language-model calls by outcome", ["outcome"], registry=r
        )
        # 1 per role this process runs: join on it to tell gateways, workers and senders apart.
        self.role = Gauge("techbrief_role", "Roles this process runs", ["role"], registry=r)
        self.gateway_connected = Gauge(
            "techbrief_gateway_connected", "1 when the Discord gateway is connected", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
