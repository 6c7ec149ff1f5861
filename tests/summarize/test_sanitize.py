from __future__ import annotations

import pytest

from bot.core.summarize.sanitize import ZWSP, clean_untrusted

OWN = "https://blog.example.com/post/42"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@everyone look", f"@{ZWSP}everyone look"),
        ("hey @here", f"hey @{ZWSP}here"),
        ("ping <@123> <@!456> <@&789> in <#42>", "ping in"),
        ("**bold** and `code` and __under__", "bold and code and under"),
        ("see [the docs](https://evil.example/d) now", "see the docs now"),
        ("![img](https://evil.example/i.png) caption", "img caption"),
        ("<p>para</p><script>steal()</script> &amp; more", "para & more"),
        ("go to https://evil.example/x.", "go to."),
        ("join discord.gg/abc today", "join today"),
        (f"original: {OWN}.", f"original: {OWN}."),
        (f"original: {OWN}/", f"original: {OWN}/"),
        ("https://blog.example.com/post/43 is another post", "is another post"),
        ("rtl \u202etxet\u202c trick", "rtl txet trick"),
        ("## Heading", "Heading"),
    ],
)
def test_clean_untrusted(raw: str, expected: str) -> None:
    assert clean_untrusted(raw, OWN) == expected
