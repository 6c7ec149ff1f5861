"""OPML 2.0 subscription lists in and out (http://opml.org/spec2.opml), standard library only.

Import reads every ``<outline>`` with an ``xmlUrl`` at any depth (folders are flattened).
Documents with entity declarations are refused before parsing, like feeds are: expat would not
fetch external entities, but billion-laughs expansion is still ours to stop.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from bot.core.errors import ParseError, UserInputError
from bot.core.ingest.parser import reject_entity_expansion


@dataclass(frozen=True, slots=True)
class Outline:
    title: str
    xml_url: str
    html_url: str | None = None


def parse_opml(data: bytes) -> list[Outline]:
    """Every feed outline, in document order, duplicates (same xmlUrl) dropped."""
    try:
        reject_entity_expansion(data)
    except ParseError as exc:
        raise UserInputError(f"refusing this OPML file: {exc}") from None
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise UserInputError(f"not a valid OPML (XML) file: {exc}") from None
    if root.tag.lower() != "opml":
        raise UserInputError(f"not an OPML file (root element is <{root.tag}>)")
    body = root.find("body")
    if body is None:
        raise UserInputError("OPML file has no <body>")
    found: dict[str, Outline] = {}
    for node in body.iter("outline"):
        url = (node.get("xmlUrl") or node.get("xmlurl") or "").strip()
        if not url or url in found:
            continue
        title = (node.get("title") or node.get("text") or "").strip()
        html_url = (node.get("htmlUrl") or node.get("htmlurl") or "").strip() or None
        found[url] = Outline(title=title, xml_url=url, html_url=html_url)
    return list(found.values())


def render_opml(outlines: Iterable[Outline], *, title: str, created: datetime) -> str:
    """An OPML 2.0 document listing ``outlines`` as RSS subscriptions."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    body = ET.SubElement(root, "body")
    for outline in outlines:
        attrs = {
            "type": "rss",
            "text": outline.title,
            "title": outline.title,
            "xmlUrl": outline.xml_url,
        }
        if outline.html_url:
            attrs["htmlUrl"] = outline.html_url
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
