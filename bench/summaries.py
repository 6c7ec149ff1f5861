"""Summary quality and speed over real feeds: how often a brief's digest has substance, how
often what it shows is a complete sentence, and what a summary costs.

    .venv/bin/python -m bench.summaries [--corpus ../shared/corpus/real-feeds]

Every story of every document in the corpus (or, when it is absent, of the test fixtures) goes
through the real parser, normalize and the extractive summariser, as ingest does. Reported:

- ``points_share``: of stories with 150+ words, the share whose digest has two or more points;
- ``sentence_share``: of every lead sentence, key point and takeaway shown, the share that
  meets the sentence rules (target >= 95%); an episode's numbered show notes are shown as
  written (they are topics, not sentences), so they are counted apart (``show_note_points``),
  and ``sentence_share_articles`` / ``sentence_share_episodes`` split the share by kind (an
  episode's lead is its synopsis, often verbless: "Bent iPads, screen protectors, and …");
- ``sectioned_share``: of stories whose text has two or more headings, the share whose digest
  has headed sections;
- summary time per story, p50 and p95, over all stories and over 4 KB stories (the text cut
  to 4,096 characters; target p95 <= 20 ms).

Writes bench/results/summaries.json. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.core.errors import ParseError
from bot.core.ingest.parser import parse_and_normalize
from bot.core.summarize import SummaryInput, split_sentences
from bot.core.summarize.boilerplate import is_boilerplate
from bot.core.summarize.extractive import ExtractiveConfig, summarize_extractive
from bot.core.summarize.quality import rejection_reason
from bot.core.summarize.tokens import count_words
from bot.core.text import HEADING_MARK, without_headings

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "summaries.json"
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus" / "real-feeds"
FIXTURES = HERE.parent / "tests" / "ingest" / "fixtures"
TARGETS = {"sentence_share": 0.95, "p95_ms_4kb": 20.0}
FOUR_KB = 4096


def _documents(corpus: Path) -> list[Path]:
    root = corpus if corpus.is_dir() else FIXTURES
    return sorted(p for p in root.rglob("*") if p.suffix in (".xml", ".json", ".rss", ".atom"))


def _timed(story: SummaryInput, config: ExtractiveConfig) -> tuple[float, Any]:
    # Each story is timed twice (whole, then cut to 4 KB): the second run must not find the
    # first one's sentences in the chrome check's cache.
    is_boilerplate.cache_clear()
    started = time.perf_counter()
    summary = summarize_extractive(story, config)
    return (time.perf_counter() - started) * 1000, summary


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(corpus: Path) -> dict[str, Any]:
    config = ExtractiveConfig()
    fetched = datetime.now(UTC)
    long_stories = long_with_points = 0
    sectioned = sectioned_ok = 0
    shown = shown_ok = 0
    times: list[float] = []
    times_4kb: list[float] = []
    failures: list[dict[str, str]] = []
    documents = _documents(corpus)
    stories_total = 0
    episodes = note_points = 0
    by_kind = {"article": [0, 0], "episode": [0, 0]}  # [shown, ok]
    for path in documents:
        try:
            outcome = parse_and_normalize(
                path.read_bytes(), {}, f"https://{path.stem}.test/feed", fetched
            )
        except ParseError:
            continue
        for story in outcome.stories:
            stories_total += 1
            episodes += story.kind != "article"
            source = SummaryInput(
                story.title, story.content_text, story.url, story.language, story.kind
            )
            took, summary = _timed(source, config)
            times.append(took)
            if len(story.content_text) >= FOUR_KB:
                cut = SummaryInput(
                    story.title,
                    story.content_text[:FOUR_KB],
                    story.url,
                    story.language,
                    story.kind,
                )
                times_4kb.append(_timed(cut, config)[0])
            if count_words(without_headings(story.content_text)) >= 150:
                long_stories += 1
                long_with_points += len(summary.bullets) >= 2
            headings = sum(
                1 for line in story.content_text.splitlines() if line.startswith(HEADING_MARK)
            )
            if headings >= 2:
                sectioned += 1
                sectioned_ok += any(s.heading for s in summary.sections)
            notes = [b for s in summary.sections if s.notes for b in s.bullets]
            note_points += len(notes)
            prose = [b for s in summary.sections if not s.notes for b in s.bullets]
            sentences = [*split_sentences(summary.lead), *prose]
            if summary.takeaway:
                sentences.append(summary.takeaway)
            tally = by_kind["article" if story.kind == "article" else "episode"]
            for sentence in sentences:
                shown += 1
                tally[0] += 1
                reason = rejection_reason(sentence, story.language)
                if reason is None:
                    shown_ok += 1
                    tally[1] += 1
                elif len(failures) < 40:
                    failures.append({"file": path.name, "reason": reason, "text": sentence})
    result: dict[str, Any] = {
        "corpus": str(corpus if corpus.is_dir() else FIXTURES),
        "documents": len(documents),
        "stories": stories_total,
        "episodes": episodes,
        "show_note_points": note_points,
        "stories_150_words": long_stories,
        "points_share": round(long_with_points / long_stories, 4) if long_stories else None,
        "sentences_shown": shown,
        "sentence_share": round(shown_ok / shown, 4) if shown else None,
        **{
            f"sentence_share_{kind}s": round(ok / n, 4) if n else None
            for kind, (n, ok) in by_kind.items()
        },
        "stories_with_headings": sectioned,
        "sectioned_share": round(sectioned_ok / sectioned, 4) if sectioned else None,
        "p50_ms": round(statistics.median(times), 2) if times else None,
        "p95_ms": round(_pct(times, 0.95), 2),
        "stories_4kb": len(times_4kb),
        "p50_ms_4kb": round(statistics.median(times_4kb), 2) if times_4kb else None,
        "p95_ms_4kb": round(_pct(times_4kb, 0.95), 2),
        "targets": TARGETS,
        "rejected_examples": failures,
    }
    result["met"] = {
        "sentence_share": (result["sentence_share"] or 0) >= TARGETS["sentence_share"],
        "p95_ms_4kb": result["p95_ms_4kb"] <= TARGETS["p95_ms_4kb"],
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of feeds")
    args = parser.parse_args(argv)
    result = run(args.corpus)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    summary = {k: v for k, v in result.items() if k not in ("rejected_examples", "targets")}
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0 if all(result["met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
