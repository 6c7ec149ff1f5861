"""What `techbrief inspect` adds per story: the card text Discord would show, and the feed's
display name, computed with the functions the bot itself uses.

The digest is made with the extractive summariser (the default, and the only one that needs no
network; inspect touches nothing but the feed) and rendered by ``render.story_embed`` with the
publisher's ``digest_formatter``, so it is the embed description a brief would carry, media line
included, markdown escapes and all.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.briefs import StoryView, render
from bot.core.ingest import ParseOutcome
from bot.core.ingest.source_name import display_name, source_key
from bot.core.models import NormalizedStory
from bot.core.summarize import (
    ExtractiveConfig,
    SummaryInput,
    digest_formatter,
    summarize_extractive,
)


@dataclass(frozen=True, slots=True)
class InspectedCard:
    story: NormalizedStory
    digest: str  # the embed description
    source_name: str


def inspected_cards(outcome: ParseOutcome, feed_url: str) -> list[InspectedCard]:
    """Each story of ``outcome`` with its card text, named as `/feed add` would name the feed."""
    name = display_name(outcome.feed.title, feed_url)
    key = source_key(name, feed_url)
    config = ExtractiveConfig()
    cards: list[InspectedCard] = []
    for n, story in enumerate(outcome.stories, start=1):
        summary = summarize_extractive(
            SummaryInput(
                story.title,
                story.content_text or story.summary,
                story.url,
                story.language,
                story.kind,
            ),
            config,
        )
        view = StoryView(
            id=n,
            source_key=key,
            source_name=name,
            source_color=None,
            title=story.title,
            url=story.url,
            author=story.author,
            published_at=story.published_at,
            summary=story.summary,
            image_url=story.image_url,
            tags=story.tags,
            digest=summary.to_dict(),
            kind=story.kind,
            duration_s=story.duration_s,
            media_url=story.media_url,
        )
        embed = render.story_embed(view, "UTC", digest_formatter=digest_formatter)
        cards.append(InspectedCard(story, str(embed.get("description") or ""), name))
    return cards
