"""Korean and Japanese text names commands the way its reader's client shows them.

A ko or ja client shows and accepts only the localised names ("/브리핑 설정", "/検索 検索語:"),
so a translation that says "`/brief setup`" names a command its reader cannot find. Every
slash command reference in an English source text ("/brief setup", "/search query:…") must
appear in each translation as the localised command with the localised options, and every
reference in a translation must name a real localised command. An option named on its own
("`every` must be…") is named by its localised name too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import pytest
from babel.messages.pofile import read_po

from bot.core.i18n import (
    COMMAND_NAME,
    DOMAIN,
    LOCALES,
    OPTION_NAME,
    Localizer,
    Messages,
    command_path,
    locales_dir,
)
from bot.core.search.query import OPERATORS
from bot.runtime.i18n_extract import command_strings

# A "/" that starts a reference: at the start, after a space, a backtick or an opening
# bracket or a Japanese comma (not "{page}/{pages}" or a URL's "//").
REFERENCE = re.compile(r"(?:^|(?<=[\s`(（「、]))/(\w[-\w]*)")
WORD = re.compile(r"\w[-\w]*")
# An option named on its own: "`every` must be…", "add `every:weekly`".
OPTION = re.compile(r"(?:^|(?<=[^/\w]))`(\w[-\w]*)(?::[^`]*)?`")

Ref = tuple[str, tuple[str, ...]]  # ("/brief setup", ("channel",))


class Tree:
    """Command paths and their options, in English or localised by a locale's catalog."""

    def __init__(self, t: Messages) -> None:
        self.options: dict[str, set[str]] = {}
        self.option_names: set[str] = set()
        for item in command_strings():
            path = item.where.split(":", 1)[0]
            if item.context == COMMAND_NAME:
                self.options.setdefault(command_path(t, path[1:]), set())
            elif item.context == OPTION_NAME:
                local = command_path(t, path[1:])
                self.options.setdefault(local, set()).add(t.pgettext(OPTION_NAME, item.text))
                self.option_names.add(t.pgettext(OPTION_NAME, item.text))

    def lone_options(self, text: str) -> set[str]:
        return {
            m.group(1)
            for m in OPTION.finditer(text)
            # "`source:netflix`" is the search syntax (a query's own words), not an option.
            if m.group(1) in self.option_names
            and not (m.group(1) in OPERATORS and m.group(0).startswith(f"`{m.group(1)}:"))
        }

    def references(self, text: str) -> Iterator[Ref]:
        for match in REFERENCE.finditer(text):
            path, pos, options = f"/{match.group(1)}", match.end(), []
            while pos < len(text) and text[pos] == " ":
                word = WORD.match(text, pos + 1)
                if word is None:
                    break
                if f"{path} {word.group()}" in self.options:
                    path, pos = f"{path} {word.group()}", word.end()
                elif text.startswith(":", word.end()) and word.group() in self.options.get(
                    path, ()
                ):
                    options.append(word.group())
                    pos = word.end() + 1
                    while pos < len(text) and not text[pos].isspace() and text[pos] != "`":
                        pos += 1  # the option's value ("source:{key}", "…")
                else:
                    break
            yield path, tuple(sorted(options))


def _expected(refs: list[Ref], t: Messages) -> Counter[Ref]:
    return Counter(
        (
            command_path(t, path[1:]),
            tuple(sorted(t.pgettext(OPTION_NAME, o) for o in options)),
        )
        for path, options in refs
    )


def mismatches(locale: str, entries: list[tuple[str, str]]) -> list[str]:
    """(English, translation) pairs whose command references do not match."""
    t = Localizer().messages(locale)
    english, local = Tree(Messages.english()), Tree(t)
    wrong = []
    for source, text in entries:
        want = _expected(list(english.references(source)), t)
        got = Counter(local.references(text))
        unknown = [path for path, _ in got if path not in local.options]
        want_lone = {t.pgettext(OPTION_NAME, o) for o in english.lone_options(source)}
        got_lone = local.lone_options(text)
        if want != got or unknown or want_lone != got_lone:
            wrong.append(
                f"{source!r}\n  -> {text!r}\n  expected {sorted(want)} {sorted(want_lone)}, "
                f"found {sorted(got)} {sorted(got_lone)}"
            )
    return wrong


def _entries(locale: str) -> list[tuple[str, str]]:
    with (locales_dir() / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    pairs: list[tuple[str, str]] = []
    for message in catalog:
        if not message.id or message.context:
            continue
        sources = message.id if isinstance(message.id, tuple | list) else (message.id,)
        texts = message.string if isinstance(message.string, tuple | list) else (message.string,)
        pairs += [(str(sources[0]), str(text)) for text in texts if text]
    return pairs


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_name_commands_as_the_readers_client_shows_them(locale: str) -> None:
    wrong = mismatches(locale, _entries(locale))
    assert not wrong, f"{len(wrong)} {locale} text(s) name commands wrongly:\n" + "\n".join(wrong)


def test_the_check_can_fail() -> None:
    """An English name left in a translation, a missing option, an unknown command and a
    particle glued to a name (which the client would not find) are all caught."""
    cases = [
        ("Run `/brief setup` first.", "먼저 `/brief setup`을 실행하세요."),
        ("`/search query:source:{key}`", "`/검색 source:{key}`"),
        ("See /feed list.", "/피드 목록보기 참고."),
        ("Use /feed remove first.", "먼저 /피드 삭제로 지워 주세요."),
        ("`day` needs `every:weekly`.", "`day`에는 `주기:매주`가 필요해요."),
    ]
    assert len(mismatches("ko", cases)) == 5
    good = [
        ("Run `/brief setup` first.", "먼저 `/브리핑 설정`을 실행하세요."),
        ("`/search query:source:{key}`", "`/검색 검색어:source:{key}`"),
        ("Add `/subscribe source:{key} channel:…`", "`/구독 출처:{key} 채널:…` 추가"),
        ("Page {page}/{pages} · /feed status", "{page}/{pages}쪽 · `/피드 상태`"),
        ("`day` needs `every:weekly`.", "`요일`에는 `주기:매주`가 필요해요."),
    ]
    assert mismatches("ko", good) == []
