"""Hostile feed HTML -> clean plain text (invariant 6), plus reader-boilerplate removal.

Feeds are parsed by feedparser with its sanitizer off (it is slow and regex-based); this module
is where the cleaning really happens, with a real HTML parser (lexbor via selectolax): entities
decoded, scripts and styles dropped, blocks turned into line breaks. Nothing that leaves here
contains markup or entities.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

_DROP_TAGS = [
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "head",
    "title",
    "form",
    "button",
    "select",
    "textarea",
]
_BLOCK_TAGS = (
    "p,div,section,article,header,footer,aside,nav,main,figure,figcaption,blockquote,pre,"
    "ul,ol,li,dl,dt,dd,table,thead,tbody,tfoot,tr,h1,h2,h3,h4,h5,h6,hr,address,details,summary"
)
_CELL_TAGS = "td,th"
# Each CSS query walks the whole tree; these say when the source cannot hold a match (the
# parser makes <img> of <image> and <br> of </br>; it never invents these elements).
_MAY_HAVE_IMG = re.compile(r"<im", re.IGNORECASE)
_MAY_HAVE_BR = re.compile(r"</?br", re.IGNORECASE)
_MAY_HAVE_CELL = re.compile(r"<t[dh]", re.IGNORECASE)
# Widgets that platforms append to every item: share bars, related posts, tracking footers.
_BOILERPLATE_SELECTORS = (
    ".sharedaddy,.jp-relatedposts,.feedflare,.blogger-post-footer,.share-buttons,"
    ".wp-block-buttons,.social-share,.addtoany_share_save_container,.yarpp-related-rss"
)
_TRACKING_IMG = re.compile(
    r"(medium\.com/_/stat|feeds\.feedburner\.com/~r/|feedburner\.com/~ff/|/pixel\b|"
    r"stats\.wordpress\.com|pixel\.wp\.com)",
    re.IGNORECASE,
)
_MARKUP_HINT = re.compile(r"[<&]")
# Escaped HTML that survived one round of decoding (double-escaped feeds): a closing tag or a
# self-contained <br>/<img>. Lone "<div>" in a title about HTML is left alone.
_RESIDUAL_MARKUP = re.compile(r"</[a-zA-Z][a-zA-Z0-9]*\s*>|<(?:br|img|p)\b[^<>]*>", re.IGNORECASE)
_RESIDUAL_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Only runs that need rewriting (2+ blanks, or a tab/nbsp/...): a lone space is left alone.
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
# Literal prefixes on purpose: re then finds candidates with a fast substring search instead
# of trying the pattern at every position (" {2,}" and "\n{3,}" cost 20x more on articles).
_ASCII_SPACES = re.compile(r"  +")
_BLANK_LINES = re.compile(r"\n\n\n+")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])

# Boilerplate phrases matched against the text, case-insensitively.
_DECORATION = r"[\s.…»›→>)\]:!-]*"
# "Read more »", "(Read more...)", "Read the full story at Example", "Keep reading".
_READ_LINK = (
    r"[(\[]?\s*(?:read more(?: of this (?:story|post|article)| here)?"
    r"|read the (?:whole|full|rest of the) (?:story|post|article)"
    r"|read full (?:story|post|article)|keep reading|click here to read more"
    r"|続きを読む|もっと読む|더\s?보기|계속\s?읽기)"
    r"(?:\s+(?:on|at|in)\s+[^\n.!?]{1,60})?" + _DECORATION
)
# WordPress: "Continue reading <title> →"; a sentence ending in "." is prose, not a link.
_CONTINUE = r"[(\[]?\s*continue reading\b(?:[^\n]{0,160}?(?<![.!?]))?" + _DECORATION
_BOILERPLATE_TAIL: list[tuple[tuple[str, ...], re.Pattern[str]]] = [
    # WordPress / Yoast: "The post <title> appeared first on <site>."
    (
        ("appeared first on",),
        re.compile(r"\s*The post [^\n]{1,400}? appeared first on [^\n]{1,200}?(?:\.|$)\s*$", re.I),
    ),
    # Medium: "<title> was originally published in <pub> on Medium, where people are ..."
    (
        ("originally published",),
        re.compile(
            r"(?:^|(?<=\n))[^\n]{0,400}?was originally published in [^\n]{1,200}? on Medium,?"
            r" where people are continuing the conversation[^\n]{0,120}?(?:\.|$)\s*$",
            re.I,
        ),
    ),
    # A read-more link at the very end, starting a line or following a finished sentence.
    (
        ("read", "continue", "keep", "続き", "もっと", "보기", "읽기"),
        re.compile(r"(?:^|(?<=[.!?…。！？\]]))\s*(?:" + _READ_LINK + "|" + _CONTINUE + r")$", re.I),
    ),
    (("[",), re.compile(r"\s*\[(?:…|\.\.\.|\s*)\]\s*$")),
    (
        ("share", "like", "related"),
        re.compile(
            r"(?:^|(?<=\n))\s*(?:Share this(?: story| post| article)?|Like this|Related)\s*:?\s*$",
            re.I,
        ),
    ),
]
# Whole lines that are nothing but a widget label or a read-more link.
_BOILERPLATE_LINE = re.compile(
    r"^\s*(?:"
    + _READ_LINK
    + "|"
    + _CONTINUE
    + r"|(?:share this(?: story| post| article)?|like this|like loading\.*|post a comment"
    r"|view comments?|leave a comment|\d* ?comments?|discuss on hacker news)"
    + _DECORATION
    + r")\s*$",
    re.I,
)
_TAIL_MAX = 700
_TAIL_WINDOW = 1500


# A section heading of the article survives as a line starting with this marker (the
# markdown spelling, which also reads naturally where the text is shown as it is), so the
# summariser can group key points under the article's own headings.
HEADING_MARK = "## "
_HEADING_TAGS = "h2,h3,h4"
_MAY_HAVE_HEADING = re.compile(r"<(?:h[2-4]|strong|b)\b", re.IGNORECASE)
_HEADING_LINE = re.compile(r"^## ?", re.MULTILINE)
_BOLD_HEADING_MAX = 100  # a longer bold paragraph is emphasis, not a heading


def without_headings(text: str) -> str:
    """The text with heading markers removed (what a reader or the search index sees)."""
    return _HEADING_LINE.sub("", text) if "##" in text else text


def heading_of(line: str) -> str | None:
    """The heading a marked line carries, or None for an ordinary line."""
    if not line.startswith("##"):
        return None
    return line.lstrip("#").strip() or None


@dataclass(frozen=True, slots=True)
class CleanedHtml:
    text: str
    first_image: str | None  # raw src of the first non-tracking <img>, not yet absolute


def _first_image(tree: LexborHTMLParser) -> str | None:
    for img in tree.css("img"):
        attrs = img.attributes
        src = attrs.get("src") or attrs.get("data-src")
        if not src or src.startswith("data:") or _TRACKING_IMG.search(src):
            continue
        if attrs.get("width") in ("0", "1") or attrs.get("height") in ("0", "1"):
            continue
        return src.strip()
    return None


def _bold_paragraphs(tree: LexborHTMLParser) -> list[LexborNode]:
    """Paragraphs that are nothing but one short bold run: headings in all but name."""
    found = []
    for node in tree.css("p > strong, p > b"):
        paragraph = node.parent
        if paragraph is None or (node.prev is not None and (node.prev.text() or "").strip()):
            continue
        own = (node.text(deep=True) or "").strip()
        whole = (paragraph.text(deep=True) or "").strip()
        if own and own == whole and len(own) <= _BOLD_HEADING_MAX and own[-1] not in ".!?。":
            found.append(paragraph)
    return found


def _tree_text(tree: LexborHTMLParser, source: str, *, headings: bool = False) -> str:
    tree.strip_tags(_DROP_TAGS)
    for node in tree.css(_BOILERPLATE_SELECTORS):
        node.decompose()
    if _MAY_HAVE_BR.search(source):
        for node in tree.css("br"):
            node.replace_with("\n")
    marked = []
    if headings and _MAY_HAVE_HEADING.search(source):
        marked = [*tree.css(_HEADING_TAGS), *_bold_paragraphs(tree)]
    for node in tree.css(_BLOCK_TAGS):
        node.insert_before("\n")
        node.insert_after("\n")
    for node in marked:
        if (node.text(deep=True) or "").strip():
            node.insert_before(HEADING_MARK)  # after the line break the block got above
    if _MAY_HAVE_CELL.search(source):
        for node in tree.css(_CELL_TAGS):
            node.insert_after(" ")
    root: LexborNode | None = tree.body or tree.root
    if root is None:
        return ""
    return root.text(deep=True) or ""


def _tidy(text: str, *, single_line: bool) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    ascii_only = text.isascii()
    if not ascii_only:
        text = _INVISIBLE.sub("", text).replace("\u00a0", " ")
    # Deleting them from the ASCII bytes is a C loop 4x faster than the regex scan that
    # almost never finds one; the regex then only runs when there is something to replace.
    if not ascii_only or len(text.encode("ascii").translate(None, _CONTROL_BYTES)) < len(text):
        text = _CONTROL.sub(" ", text)
    if single_line:
        return " ".join(text.split())
    # Whole-text passes: per-line regex calls dominated the cost on 100 KB articles. The
    # plain-ASCII path does the same with str methods and a literal regex (the general
    # whitespace class costs more than parsing the HTML did); after _CONTROL the only ASCII
    # blanks left besides space and newline are tabs.
    spaces, text = (_ASCII_SPACES, text.replace("\t", " ")) if ascii_only else (_SPACES, text)
    text = spaces.sub(" ", text)
    # Every run of blanks is one space now, so one replace per side strips all line edges.
    text = text.replace(" \n", "\n").replace("\n ", "\n")
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def _parse_round(raw: str, *, want_image: bool, headings: bool = False) -> tuple[str, str | None]:
    # An explicit <body> keeps leading <script>/<noscript> out of <head>, where lexbor would
    # move a noscript's text into the body.
    tree = LexborHTMLParser("<body>" + raw)
    image = _first_image(tree) if want_image and _MAY_HAVE_IMG.search(raw) else None
    return _tree_text(tree, raw, headings=headings), image


def clean_html(
    raw: str | None, *, single_line: bool = False, headings: bool = False
) -> CleanedHtml:
    """Plain text of an HTML fragment (or of text that may contain entities); ``headings``
    marks each section heading's line with :data:`HEADING_MARK`."""
    if not raw:
        return CleanedHtml("", None)
    image: str | None = None
    text = raw
    if _MARKUP_HINT.search(text):
        text, image = _parse_round(text, want_image=True, headings=headings)
        # Double-escaped feeds: the first round only decoded "&lt;p&gt;" into "<p>".
        if _RESIDUAL_MARKUP.search(text):
            text, second_image = _parse_round(text, want_image=image is None, headings=headings)
            image = image or second_image
        elif _RESIDUAL_ENTITY.search(text):
            text = html.unescape(text)
    return CleanedHtml(_tidy(text, single_line=single_line), image)


def html_to_text(raw: str | None, *, single_line: bool = False) -> str:
    return clean_html(raw, single_line=single_line).text


def strip_boilerplate(text: str) -> str:
    """Remove reader boilerplate ("Read more", "The post X appeared first on Y.", ...)."""
    if not text:
        return text
    lines = [line for line in text.split("\n") if not _BOILERPLATE_LINE.match(line)]
    text = "\n".join(lines).strip()
    # Tail patterns only ever match near the end; searching a 100 KB article with them would
    # cost more than parsing the whole feed.
    cut = max(0, len(text) - _TAIL_WINDOW)
    if cut:
        newline = text.find("\n", cut)
        cut = newline + 1 if 0 <= newline < cut + 400 else cut
    head, tail = text[:cut], text[cut:]
    changed = True
    while changed and tail:
        changed = False
        lowered = tail.lower()
        for keywords, pattern in _BOILERPLATE_TAIL:
            # Cheap prefilter (map: no Python frame per keyword): the regexes are the
            # expensive part.
            if not any(map(lowered.__contains__, keywords)):
                continue
            match = pattern.search(tail)
            # Only a short tail is boilerplate; "read" deep inside a paragraph is prose.
            if match and match.end() - match.start() <= _TAIL_MAX:
                tail = tail[: match.start()].rstrip()
                changed = True
    return _BLANK_LINES.sub("\n\n", head + tail).strip()


def clean_text(raw: str | None, *, single_line: bool = False) -> str:
    """HTML -> plain text with boilerplate removed; the one entry point normalize uses."""
    return strip_boilerplate(html_to_text(raw, single_line=single_line))
