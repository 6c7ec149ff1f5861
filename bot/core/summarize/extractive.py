"""Extractive summaries: no model, no network, sentences taken verbatim from the story.

Scoring is TextRank over TF-IDF cosine similarity (a sentence that many others resemble is
central), blended with a mild position prior (blog posts front-load their point) and
similarity to the title. Key points are then picked by maximal marginal relevance so four
bullets do not say the same thing, and shown in the order the article tells them. CJK text is
compared on character bigrams (see :mod:`tokens`), so no segmenter is needed.
"""

from __future__ import annotations

import asyncio
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace

from bot.core.summarize.boilerplate import is_boilerplate, strip_boilerplate
from bot.core.summarize.notes import show_notes
from bot.core.summarize.quality import is_complete_sentence, strip_byline
from bot.core.summarize.sanitize import has_markup, strip_markup, strip_markup_blocks
from bot.core.summarize.sentences import ends_with_terminator, split_sentences
from bot.core.summarize.tokens import cjk_ratio, tokenize
from bot.core.summarize.trim import cut_words, fit_sentences
from bot.core.summarize.types import Section, Summary, SummaryInput
from bot.core.text import heading_of

_TRUNCATED_RE = re.compile(r"\[\s*(?:…|\.\.\.)\s*\]")
_TAKEAWAY_CUE_RE = re.compile(
    r"\b(in short|in summary|to sum up|overall|ultimately|in conclusion|the lesson|lessons? "
    r"learned|we learned|going forward|the result|as a result|takeaway|bottom line|we believe|"
    r"we recommend|should)\b"
    r"|결론|요약하면|정리하면|앞으로|결과적으로|교훈|배운 점|기대합니다|기대한다"
    r"|まとめ|今後|結論|結果として|学び|教訓|期待しています",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ExtractiveConfig:
    max_points: int = 4
    max_lead_sentences: int = 2
    # Limits in Latin characters; a CJK character counts as two, because it carries about
    # twice the meaning and takes twice the width on screen.
    lead_max_chars: int = 320
    point_max_chars: int = 280
    min_sentence_chars: int = 25
    min_cjk_sentence_chars: int = 10  # CJK packs more meaning per character
    max_candidates: int = 250  # similarity is O(n²); later sentences beyond this are ignored
    mmr_lambda: float = 0.7
    damping: float = 0.85
    position_weight: float = 0.3
    title_weight: float = 0.3
    redundancy_cutoff: float = 0.6  # never pick a point this similar to one already chosen
    with_takeaway: bool = True


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str
    order: int  # position among all sentences of the story
    vector: dict[str, float]
    section: int = 0  # index of the heading it sits under (0: before any heading)


class ExtractiveSummarizer:
    """The default summarizer; the CPU work runs in a thread (or the executor given)."""

    def __init__(
        self, config: ExtractiveConfig | None = None, executor: Executor | None = None
    ) -> None:
        self._config = config or ExtractiveConfig()
        self._executor = executor

    async def summarize(self, story: SummaryInput) -> Summary:
        if self._executor is None:
            return await asyncio.to_thread(summarize_extractive, story, self._config)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, summarize_extractive, story, self._config)


def summarize_extractive(story: SummaryInput, config: ExtractiveConfig) -> Summary:
    """Pure, picklable entry point (usable with a process pool)."""
    text = strip_markup_blocks(story.text) if has_markup(story.text) else story.text
    text = strip_boilerplate(text)
    if story.kind != "article":
        return _summarize_episode(story, text, config)
    title = strip_markup(story.title).strip()
    headings, found = _sentences_by_section(text, title)
    # Only complete sentences may be shown (see :mod:`quality`); a byline glued onto the
    # opening sentence is cut off first, since that sentence is often the best lead.
    complete = [
        (section, cut)
        for section, s in found
        if is_complete_sentence(cut := strip_byline(s), story.language)
    ]
    candidates = _dedupe([(sec, s) for sec, s in complete if _is_candidate(s, config)])
    candidates = candidates[: config.max_candidates]
    if len(candidates) < 2:
        return _tiny_summary([s for _, s in complete], config)

    texts = [s for _, s in candidates]
    vectors = _tfidf([tokenize(s) for s in texts], tokenize(title))
    sents = [
        _Sentence(s, i, v, sec)
        for i, ((sec, s), v) in enumerate(zip(candidates, vectors[:-1], strict=True))
    ]
    title_vec = vectors[-1]
    sim = _similarity_matrix([s.vector for s in sents])
    scores = _combined_scores(sents, sim, title_vec, config)

    lead_idx = _pick_lead(sents, scores, config)
    lead = _join([sents[i].text for i in lead_idx])
    if len(lead) > config.lead_max_chars:
        lead = cut_words(lead, config.lead_max_chars)
    taken = set(lead_idx)

    outline = _Outline.of(headings, sents, taken, config)
    takeaway_idx: int | None = None
    if config.with_takeaway:
        takeaway_idx = (
            outline.takeaway(sents, scores, taken, config)
            if outline is not None and outline.concluding
            else _pick_takeaway(sents, scores, taken, config)
        )
    if takeaway_idx is not None:
        taken.add(takeaway_idx)

    if outline is not None:
        sections = outline.sections(sents, scores, sim, taken, config)
    else:
        points = _pick_points(sents, scores, sim, taken, config)
        sections = (Section(None, tuple(sents[i].text for i in points)),) if points else ()
    return Summary(
        lead=lead,
        sections=sections,
        takeaway=sents[takeaway_idx].text if takeaway_idx is not None else None,
        method="extractive",
    )


def _summarize_episode(story: SummaryInput, text: str, config: ExtractiveConfig) -> Summary:
    """A podcast or video: its opening synopsis as the lead (the subtitle normalize put first,
    or the description's first paragraph), its numbered show notes as the points, else the
    rest ranked as prose.

    The synopsis may be verbless ("Facebook's Onavo scam, Apple's FaceTime bug, and …"): it is
    written as the episode's summary, which is what a lead is.
    """
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    synopsis = None
    if first is not None:
        line = lines[first].strip()
        # Show notes often open with the subtitle set in bold or as a heading: a synopsis too.
        heading = heading_of(line)
        if heading is not None and len(heading.split()) >= 4 and not ends_with_terminator(heading):
            line = heading + "."
        if (
            heading_of(line) is None
            and ends_with_terminator(line)
            and len(line.split()) >= 4
            and _width(line) <= config.lead_max_chars
            and not is_boilerplate(line)
        ):
            synopsis = line
            text = "\n".join(lines[first + 1 :])
    notes = show_notes(text, max_points=config.max_points, point_max_chars=config.point_max_chars)
    body = summarize_extractive(
        replace(story, text=notes.prose if notes else text, kind="article"), config
    )
    title = cut_words(strip_markup(story.title).strip(), config.lead_max_chars)
    body_lead = body.lead if body.lead and body.lead != title else ""
    lead = synopsis or body_lead
    if notes is not None:
        if synopsis and body_lead:
            # The notes take the points, so the description's opening joins the synopsis
            # when both fit in a lead.
            opening = split_sentences(body_lead)[0] if split_sentences(body_lead) else body_lead
            if _width(synopsis) + 1 + _width(opening) <= config.lead_max_chars:
                lead = f"{synopsis} {opening}"
        sections: tuple[Section, ...] = (Section(None, notes.points, notes=True),)
    elif synopsis and body_lead and not any(s.heading for s in body.sections):
        # The body's own lead becomes its first point rather than being lost to the synopsis.
        points = (*split_sentences(body_lead), *body.bullets)[: config.max_points]
        sections = (Section(None, tuple(dict.fromkeys(points))),)
    else:
        sections = body.sections
    return Summary(lead=lead, sections=sections, takeaway=body.takeaway, method="extractive")


def _sentences_by_section(text: str, title: str) -> tuple[list[str | None], list[tuple[int, str]]]:
    """The article's headings (index 0: the part before the first one) and its sentences,
    each with the index of the section it sits in.

    A heading that repeats the story's title (Medium posts open with one) starts no section.
    """
    headings: list[str | None] = [None]
    same_as_title = title.casefold().strip()
    out: list[tuple[int, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        heading = heading_of(line)
        if heading is not None and heading.casefold().strip() == same_as_title:
            continue
        if heading is not None or line.startswith("##"):
            headings.append(heading)
            continue
        # A short line without closing punctuation is a heading or a label, not a point.
        if not ends_with_terminator(line) and len(line) < 60 and len(line.split()) < 8:
            continue
        out.extend((len(headings) - 1, s) for s in split_sentences(line))
    return headings, out


def _is_candidate(sentence: str, config: ExtractiveConfig) -> bool:
    minimum = (
        config.min_cjk_sentence_chars if cjk_ratio(sentence) > 0.3 else config.min_sentence_chars
    )
    if len(sentence) < minimum or len(sentence) > 4 * config.point_max_chars:
        return False
    if sentence.endswith((":", "：")) or _TRUNCATED_RE.search(sentence):
        return False  # an introduction to a list, or a feed's cut-off teaser
    if is_boilerplate(sentence):
        return False
    return len(tokenize(sentence)) >= 3


def _dedupe(sentences: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    out: list[tuple[int, str]] = []
    for section, s in sentences:
        key = s.casefold()
        if key not in seen:
            seen.add(key)
            out.append((section, s))
    return out


def _tfidf(docs: list[list[str]], query: list[str]) -> list[dict[str, float]]:
    """Unit-length TF-IDF vectors of each sentence, with the title's appended last."""
    n = len(docs)
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(set(doc))
    out: list[dict[str, float]] = []
    for doc in [*docs, query]:
        vec = {
            tok: (1.0 + math.log(tf)) * (math.log((n + 1) / (df.get(tok, 0) + 1)) + 1.0)
            for tok, tf in Counter(doc).items()
        }
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        out.append({tok: w / norm for tok, w in vec.items()})
    return out


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b[t] for t, w in a.items() if t in b)


def _similarity_matrix(vectors: list[dict[str, float]]) -> list[list[float]]:
    n = len(vectors)
    sim = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            sim[i][j] = sim[j][i] = _cosine(vectors[i], vectors[j])
    return sim


def _textrank(sim: list[list[float]], damping: float, iterations: int = 50) -> list[float]:
    """PageRank over the weighted similarity graph, normalised so the top sentence is 1."""
    n = len(sim)
    out_weight = [sum(row) for row in sim]
    # Incoming edges with their transition weights, computed once (the matrix is sparse-ish).
    incoming = [
        [(j, sim[j][i] / out_weight[j]) for j in range(n) if sim[j][i] > 0.0] for i in range(n)
    ]
    dangling_nodes = [j for j in range(n) if out_weight[j] == 0.0]
    rank = [1.0 / n] * n
    for _ in range(iterations):
        dangling = sum(rank[j] for j in dangling_nodes) / n
        new = [
            (1.0 - damping) / n + damping * (dangling + sum(w * rank[j] for j, w in incoming[i]))
            for i in range(n)
        ]
        delta = sum(abs(a - b) for a, b in zip(new, rank, strict=True))
        rank = new
        if delta < 1e-6:
            break
    top = max(rank) or 1.0
    return [r / top for r in rank]


def _combined_scores(
    sents: list[_Sentence],
    sim: list[list[float]],
    title_vec: dict[str, float],
    config: ExtractiveConfig,
) -> list[float]:
    centrality = _textrank(sim, config.damping)
    n = len(sents)
    scores = []
    for i, s in enumerate(sents):
        position = 1.0 - i / n
        score = (
            centrality[i]
            + config.position_weight * position
            + config.title_weight * _cosine(s.vector, title_vec)
        )
        if _width(s.text) > config.point_max_chars:
            score *= 0.5  # too long to be a bullet; still fine as context for the others
        scores.append(score)
    top = max(scores) or 1.0
    return [s / top for s in scores]


def _pick_lead(sents: list[_Sentence], scores: list[float], config: ExtractiveConfig) -> list[int]:
    """An opening sentence, plus the next one when it is short.

    Posts usually state their point first, so the earliest of the first three sentences that
    scores close to the best of them wins; a scene-setting opener that shares nothing with the
    rest of the story loses to the sentence after it.
    """
    window = [
        i for i in range(min(3, len(sents))) if _width(sents[i].text) <= config.lead_max_chars
    ]
    # No short opener: the earliest sentence that fits, rather than a cut-off fragment.
    fitting = (i for i in range(len(sents)) if _width(sents[i].text) <= config.lead_max_chars)
    window = window or [next(fitting, 0)]
    best = max(scores[i] for i in window)
    first = next(i for i in window if scores[i] >= 0.5 * best)
    lead = [first]
    nxt = first + 1
    if (
        config.max_lead_sentences >= 2
        and nxt < len(sents)
        and sents[nxt].order == sents[first].order + 1
        and _width(sents[first].text) < 140
        and _width(sents[first].text) + _width(sents[nxt].text) + 1 <= config.lead_max_chars
    ):
        lead.append(nxt)
    return lead


def _pick_takeaway(
    sents: list[_Sentence], scores: list[float], taken: set[int], config: ExtractiveConfig
) -> int | None:
    """A concluding sentence from the last third: one phrased as a conclusion ("The lesson:",
    "결론적으로", "今後") wins if it is not marginal, else the most central late sentence that
    scores above the median."""
    n = len(sents)
    if n < 5:
        return None
    median = sorted(scores)[n // 2]
    late = [
        i
        for i in range(int(n * 0.67), n)
        if i not in taken and _width(sents[i].text) <= config.point_max_chars
    ]
    cued = [i for i in late if _TAKEAWAY_CUE_RE.search(sents[i].text) and scores[i] >= 0.25]
    if cued:
        return max(cued, key=lambda i: scores[i])
    central = [i for i in late if scores[i] >= median]
    return max(central, key=lambda i: scores[i]) if central else None


def _pick_points(
    sents: list[_Sentence],
    scores: list[float],
    sim: list[list[float]],
    taken: set[int],
    config: ExtractiveConfig,
) -> list[int]:
    """Maximal marginal relevance: important, and unlike what is already chosen."""
    pool = [
        i
        for i in range(len(sents))
        if i not in taken and _width(sents[i].text) <= config.point_max_chars
    ]
    chosen: list[int] = []
    reference = list(taken)
    lam = config.mmr_lambda
    while pool and len(chosen) < config.max_points:

        def mmr(i: int) -> float:
            redundancy = max((sim[i][j] for j in reference), default=0.0)
            return lam * scores[i] - (1.0 - lam) * redundancy

        best = max(pool, key=mmr)
        pool.remove(best)
        if max((sim[best][j] for j in reference), default=0.0) > config.redundancy_cutoff:
            continue
        chosen.append(best)
        reference.append(best)
    return sorted(chosen)


# Headings under which an article concludes: their sentences feed the takeaway.
_CONCLUDING_RE = re.compile(
    r"^(?:\d+[.)]?\s*)?(?:conclusions?|in conclusion|summary|in summary|wrap(?:ping)?[- ]up|"
    r"(?:key |main )?takeaways?|final thoughts|closing thoughts|lessons learned|"
    r"what we learned|to sum up|결론|마치며|마무리|맺음말|정리|정리하며|나가며|끝으로|"
    r"まとめ|おわりに|終わりに|さいごに|最後に|結論)\b",
    re.IGNORECASE,
)
# Sections that are not the article's argument: never a source of key points.
_APPENDIX_RE = re.compile(
    r"^(?:references?|acknowledge?ments?|appendix|further reading|related (?:posts?|"
    r"articles?|work)|about the authors?|footnotes?|credits|참고(?:\s?자료|\s?문헌)?|참조|"
    r"감사의 글|参考(?:文献)?|謝辞|付録)\b",
    re.IGNORECASE,
)
_MAX_SECTIONS = 4
_POINTS_PER_SECTION = 2
_SECOND_POINT_SHARE = 0.8  # a section's second point must score this close to its first
_HEADING_MAX_CHARS = 80


@dataclass(frozen=True, slots=True)
class _Outline:
    """The article's own sections, when it has at least two with something to say."""

    headings: tuple[str | None, ...]
    body: tuple[int, ...]  # section indexes that may give key points, in article order
    concluding: tuple[int, ...]

    @classmethod
    def of(
        cls,
        headings: Sequence[str | None],
        sents: Sequence[_Sentence],
        taken: set[int],
        config: ExtractiveConfig,
    ) -> _Outline | None:
        usable = {
            s.section
            for i, s in enumerate(sents)
            if i not in taken and _width(s.text) <= config.point_max_chars
        }
        named = [(i, h) for i, h in enumerate(headings) if i > 0 and h and i in usable]
        concluding = tuple(i for i, h in named if _CONCLUDING_RE.match(h))
        body = tuple(i for i, h in named if i not in concluding and not _APPENDIX_RE.match(h))
        if len(body) < 2:
            return None
        return cls(tuple(headings), body, concluding)

    def takeaway(
        self,
        sents: Sequence[_Sentence],
        scores: Sequence[float],
        taken: set[int],
        config: ExtractiveConfig,
    ) -> int | None:
        """The best sentence of the concluding section(s)."""
        pool = [i for i, s in enumerate(sents) if s.section in self.concluding and i not in taken]
        return max(pool, key=lambda i: scores[i]) if pool else None

    def sections(
        self,
        sents: Sequence[_Sentence],
        scores: Sequence[float],
        sim: Sequence[Sequence[float]],
        taken: set[int],
        config: ExtractiveConfig,
    ) -> tuple[Section, ...]:
        """Up to four sections (the strongest, shown in article order), one or two points
        each, picked by score within the section and unlike anything already chosen."""
        pools: dict[int, list[int]] = {sec: [] for sec in self.body}
        for i, s in enumerate(sents):
            if s.section in pools and i not in taken and _width(s.text) <= config.point_max_chars:
                pools[s.section].append(i)
        best = {sec: max((scores[i] for i in pool), default=0.0) for sec, pool in pools.items()}
        strongest = sorted((sec for sec in pools if pools[sec]), key=lambda sec: -best[sec])
        chosen_sections = sorted(strongest[:_MAX_SECTIONS])
        reference = list(taken)
        out: list[Section] = []
        for sec in chosen_sections:
            picked: list[int] = []
            for i in sorted(pools[sec], key=lambda i: -scores[i]):
                if len(picked) == _POINTS_PER_SECTION:
                    break
                if picked and scores[i] < _SECOND_POINT_SHARE * scores[picked[0]]:
                    break
                if max((sim[i][j] for j in reference), default=0.0) > config.redundancy_cutoff:
                    continue
                picked.append(i)
                reference.append(i)
            if picked:
                heading = cut_words(self.headings[sec] or "", _HEADING_MAX_CHARS)
                heading = heading.rstrip(":：").strip()
                out.append(Section(heading or None, tuple(sents[i].text for i in sorted(picked))))
        return tuple(out)


def _tiny_summary(sentences: list[str], config: ExtractiveConfig) -> Summary:
    """Too little text to rank: the opening complete sentences, else nothing.

    A story whose text has no complete sentence (a link post, a bare release title) gets an
    empty digest: its card already shows the title, and repeating it as the summary reads
    like a mistake (the card then shows what the feed itself said, if anything).
    """
    text = _TRUNCATED_RE.sub("…", _join(sentences)).replace(" …", "…")
    lead = fit_sentences(text, config.lead_max_chars, config.max_lead_sentences) if text else ""
    return Summary(lead=lead, method="extractive")


def _width(text: str) -> int:
    """Display width: wide (CJK) characters count twice. ASCII text, most of it, is its length."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for c in text if unicodedata.east_asian_width(c) in "WF")


def _join(sentences: Sequence[str]) -> str:
    out = ""
    for s in sentences:
        out = s if not out else out + ("" if out[-1] in "。！？．｡" else " ") + s
    return out
