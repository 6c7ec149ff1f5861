from __future__ import annotations

import json

import pytest

from bot.core.summarize import Section, Summarizer, Summary


def test_json_round_trip() -> None:
    summary = Summary(
        lead="A lead. Second sentence.",
        sections=(Section("Design", ("one", "two")), Section(None, ("three",))),
        takeaway="Remember this.",
        method="llm",
    )
    restored = Summary.from_dict(json.loads(json.dumps(summary.to_dict())))
    assert restored == summary
    assert restored.bullets == ("one", "two", "three")


@pytest.mark.parametrize(
    "data",
    [
        {"lead": 3},
        {"lead": "x", "sections": "nope"},
        {"lead": "x", "sections": [{"heading": 1, "bullets": []}]},
        {"lead": "x", "sections": [{"bullets": [1]}]},
        {"lead": "x", "method": "magic"},
        {"lead": "x", "takeaway": ["no"]},
    ],
)
def test_from_dict_rejects_bad_rows(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Summary.from_dict(data)


def test_frozen() -> None:
    summary = Summary(lead="x")
    with pytest.raises(AttributeError):
        summary.lead = "y"  # type: ignore[misc]


def test_summarizers_satisfy_the_protocol() -> None:
    # Checked by mypy: both implementations fit where a Summarizer is expected.
    from bot.core.summarize import ExtractiveSummarizer

    summarizer: Summarizer = ExtractiveSummarizer()
    assert callable(summarizer.summarize)
