"""Discord's documented payload limits, checked on every request body.

Each check returns human-readable problems (empty list = fine). These mirror the
limits the bot's renderer must enforce (DESIGN.md §4 invariant 10), so a renderer
bug shows up as a failing test instead of a 400 in production.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .modals import check_modal

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
ACTION_ROWS_MAX = 5
ROW_BUTTONS_MAX = 5
CUSTOM_ID_MAX = 100
LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25
PLACEHOLDER_MAX = 150
COMMAND_NAME_MAX = 32
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMAND_CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_VALUE_MAX = 100
COMMAND_TOTAL_CHARS_MAX = 4000
AUTOCOMPLETE_CHOICES_MAX = 25
IS_COMPONENTS_V2 = 1 << 15

# Discord's regex is ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$; Python's re has no
# \p{..}, and \w (unicode) covers letters, digits and underscore, which is the same set
# for every English name a bot realistically registers.
_CHAT_INPUT_NAME = re.compile(r"^[-_'\w]{1,32}$")


def _name_char(char: str) -> bool:
    # \p{L}, \p{N} by Unicode category; \p{sc=Deva}, \p{sc=Thai} by the character's name
    # (Python has no script property). \w would also let through e.g. combining marks of
    # other scripts, so localised names (any script) are checked exactly.
    return (
        char in "-_'"
        or unicodedata.category(char)[0] in "LN"
        or unicodedata.name(char, "").startswith(("DEVANAGARI", "THAI"))
    )


def valid_chat_input_name(text: str) -> bool:
    """Discord's name regex, and lowercase where the script has case."""
    return (
        1 <= len(text) <= COMMAND_NAME_MAX and all(map(_name_char, text)) and (text == text.lower())
    )


# Discord's locales (https://discord.com/developers/docs/reference#locales).
DISCORD_LOCALES = frozenset(
    [
        "id",
        "da",
        "de",
        "en-GB",
        "en-US",
        "es-ES",
        "es-419",
        "fr",
        "hr",
        "it",
        "lt",
        "hu",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "fi",
        "sv-SE",
        "vi",
        "tr",
        "cs",
        "el",
        "bg",
        "ru",
        "uk",
        "hi",
        "th",
        "zh-CN",
        "ja",
        "zh-TW",
        "ko",
    ]
)


def _check_localizations(obj: dict[str, Any], where: str, *, name_rule: str | None) -> list[str]:
    """name_localizations / description_localizations by the same rules as the defaults.

    ``name_rule``: "chat_input" (regex, lowercase), "free" (1-32, context menus), "choice"
    (1-100), or None when the object has no localisable name.
    """
    problems: list[str] = []
    for field in ("name_localizations", "description_localizations"):
        values = obj.get(field)
        if values is None:
            continue
        if not isinstance(values, dict):
            problems.append(f"{where}.{field} is not an object")
            continue
        for locale, text in values.items():
            here = f"{where}.{field}[{locale}]"
            if locale not in DISCORD_LOCALES:
                problems.append(f"{here}: {locale!r} is not a Discord locale")
            if not isinstance(text, str):
                problems.append(f"{here} is not a string")
                continue
            if field == "description_localizations":
                if not 1 <= len(text) <= COMMAND_DESCRIPTION_MAX:
                    problems.append(
                        f"{here} has {len(text)} characters (1-{COMMAND_DESCRIPTION_MAX})"
                    )
            elif name_rule == "chat_input":
                if not valid_chat_input_name(text):
                    problems.append(f"{here} {text!r} is not a valid lowercase command name")
            elif name_rule == "free":
                if not 1 <= len(text) <= COMMAND_NAME_MAX:
                    problems.append(f"{here} {text!r} must have 1-{COMMAND_NAME_MAX} characters")
            elif name_rule == "choice":
                if not 1 <= len(text) <= CHOICE_NAME_MAX:
                    problems.append(f"{here} has {len(text)} characters (1-{CHOICE_NAME_MAX})")
            else:
                problems.append(f"{here}: this object has no localisable name")
    return problems


def _check_sibling_names(siblings: list[Any], where: str) -> list[str]:
    """Names unique among siblings in every locale: a locale's name is its localisation, or
    the default where the sibling has none (that is what a client of that locale shows)."""
    objs = [o for o in siblings if isinstance(o, dict)]
    locales = {loc for o in objs for loc in (o.get("name_localizations") or {})}
    problems: list[str] = []
    for locale in sorted(locales):
        seen: dict[str, str] = {}
        for obj in objs:
            name = str(obj.get("name", ""))
            shown = (obj.get("name_localizations") or {}).get(locale) or name
            if shown in seen:
                problems.append(
                    f"{where}: name_localizations[{locale}] {shown!r} of {name!r} collides "
                    f"with sibling {seen[shown]!r}"
                )
            seen[shown] = name
    return problems


def _text_len(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


def check_embeds(embeds: Any) -> list[str]:
    problems: list[str] = []
    if not isinstance(embeds, list):
        return problems
    if len(embeds) > EMBEDS_MAX:
        problems.append(f"{len(embeds)} embeds (max {EMBEDS_MAX})")
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            problems.append(f"embeds[{i}] is not an object")
            continue
        title = _text_len(embed.get("title"))
        desc = _text_len(embed.get("description"))
        footer = _text_len((embed.get("footer") or {}).get("text"))
        author = _text_len((embed.get("author") or {}).get("name"))
        for name, size, limit in (
            ("title", title, EMBED_TITLE_MAX),
            ("description", desc, EMBED_DESCRIPTION_MAX),
            ("footer.text", footer, EMBED_FOOTER_MAX),
            ("author.name", author, EMBED_AUTHOR_MAX),
        ):
            if size > limit:
                problems.append(f"embeds[{i}].{name} has {size} characters (max {limit})")
        total += title + desc + footer + author
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            problems.append(f"embeds[{i}] has {len(fields)} fields (max {EMBED_FIELDS_MAX})")
        for j, fld in enumerate(fields):
            name_len = _text_len(fld.get("name"))
            value_len = _text_len(fld.get("value"))
            if name_len > EMBED_FIELD_NAME_MAX:
                problems.append(
                    f"embeds[{i}].fields[{j}].name has {name_len} characters "
                    f"(max {EMBED_FIELD_NAME_MAX})"
                )
            if value_len > EMBED_FIELD_VALUE_MAX:
                problems.append(
                    f"embeds[{i}].fields[{j}].value has {value_len} characters "
                    f"(max {EMBED_FIELD_VALUE_MAX})"
                )
            if name_len == 0 or value_len == 0:
                problems.append(f"embeds[{i}].fields[{j}] has an empty name or value")
            total += name_len + value_len
    if total > EMBED_TOTAL_MAX:
        problems.append(f"embeds total {total} characters (max {EMBED_TOTAL_MAX})")
    return problems


def _check_component(comp: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    custom_id = comp.get("custom_id")
    if custom_id is not None and len(str(custom_id)) > CUSTOM_ID_MAX:
        problems.append(f"{where}.custom_id has {len(str(custom_id))} characters (max 100)")
    label = comp.get("label")
    if isinstance(label, str) and len(label) > LABEL_MAX:
        problems.append(f"{where}.label has {len(label)} characters (max {LABEL_MAX})")
    placeholder = comp.get("placeholder")
    if isinstance(placeholder, str) and len(placeholder) > PLACEHOLDER_MAX:
        problems.append(f"{where}.placeholder too long (max {PLACEHOLDER_MAX})")
    if comp.get("type") == 2:
        # Link buttons (style 5) carry a url and no custom_id; others need a custom_id.
        if comp.get("style") == 5:
            if not comp.get("url"):
                problems.append(f"{where}: link button without url")
        elif comp.get("style") != 6 and not custom_id:
            problems.append(f"{where}: button without custom_id")
    options = comp.get("options")
    if isinstance(options, list) and len(options) > SELECT_OPTIONS_MAX:
        problems.append(f"{where} has {len(options)} options (max {SELECT_OPTIONS_MAX})")
    return problems


def check_components(components: Any, flags: int = 0) -> list[str]:
    problems: list[str] = []
    if not isinstance(components, list):
        return problems
    if flags & IS_COMPONENTS_V2:
        return problems  # layout components have other rules; only the OpenAPI check applies
    if len(components) > ACTION_ROWS_MAX:
        problems.append(f"{len(components)} action rows (max {ACTION_ROWS_MAX})")
    for i, row in enumerate(components):
        if not isinstance(row, dict) or row.get("type") != 1:
            problems.append(f"components[{i}] is not an action row")
            continue
        children = row.get("components") or []
        if not children:
            problems.append(f"components[{i}] is an empty action row")
        buttons = [c for c in children if c.get("type") == 2]
        if len(buttons) > ROW_BUTTONS_MAX:
            problems.append(f"components[{i}] has {len(buttons)} buttons (max {ROW_BUTTONS_MAX})")
        if len(children) > 1 and any(c.get("type") != 2 for c in children):
            problems.append(f"components[{i}]: a select menu must be alone in its row")
        for j, comp in enumerate(children):
            problems += _check_component(comp, f"components[{i}].components[{j}]")
    return problems


def check_message(body: Any, *, allow_ephemeral: bool = False) -> list[str]:
    """A message create/edit body (channel message, interaction response, followup)."""
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    problems: list[str] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > CONTENT_MAX:
        problems.append(f"content has {len(content)} characters (max {CONTENT_MAX})")
    problems += check_embeds(body.get("embeds"))
    flags = int(body.get("flags") or 0)
    problems += check_components(body.get("components"), flags)
    if flags & 64 and not allow_ephemeral:
        problems.append("EPHEMERAL flag (64) is only valid on interaction responses")
    nonce = body.get("nonce")
    if isinstance(nonce, str) and len(nonce) > 25:
        problems.append(f"nonce has {len(nonce)} characters (max 25)")
    return problems


def _check_options(options: Any, where: str, depth: int) -> tuple[list[str], int]:
    problems: list[str] = []
    chars = 0
    if not isinstance(options, list):
        return problems, chars
    if len(options) > COMMAND_OPTIONS_MAX:
        problems.append(f"{where} has {len(options)} options (max {COMMAND_OPTIONS_MAX})")
    problems += _check_sibling_names(options, f"{where}.options")
    seen_optional = False
    for i, opt in enumerate(options):
        here = f"{where}.options[{i}]"
        name = opt.get("name", "")
        desc = opt.get("description", "")
        problems += _check_name_description(name, desc, here, chat_input=True)
        problems += _check_localizations(opt, here, name_rule="chat_input")
        chars += len(name) + len(desc)
        kind = opt.get("type")
        if kind in (1, 2):
            if depth >= 2 or (kind == 2 and depth >= 1):
                problems.append(f"{here}: subcommands nested too deeply")
            sub_problems, sub_chars = _check_options(opt.get("options"), here, depth + 1)
            problems += sub_problems
            chars += sub_chars
            continue
        if opt.get("required"):
            if seen_optional:
                problems.append(f"{here}: required option after an optional one")
        else:
            seen_optional = True
        choices = opt.get("choices") or []
        if len(choices) > COMMAND_CHOICES_MAX:
            problems.append(f"{here} has {len(choices)} choices (max {COMMAND_CHOICES_MAX})")
        if choices and opt.get("autocomplete"):
            problems.append(f"{here}: choices and autocomplete are mutually exclusive")
        for k, choice in enumerate(choices):
            problems += _check_choice(choice, f"{here}.choices[{k}]")
            chars += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
    return problems, chars


def _check_choice(choice: Any, where: str) -> list[str]:
    if not isinstance(choice, dict):
        return [f"{where} is not an object"]
    problems: list[str] = []
    name = str(choice.get("name", ""))
    if not 1 <= len(name) <= CHOICE_NAME_MAX:
        problems.append(f"{where}.name has {len(name)} characters (1-{CHOICE_NAME_MAX})")
    problems += _check_localizations(choice, where, name_rule="choice")
    value = choice.get("value")
    if isinstance(value, str) and len(value) > CHOICE_VALUE_MAX:
        problems.append(f"{where}.value has {len(value)} characters (max {CHOICE_VALUE_MAX})")
    return problems


def _check_name_description(name: str, desc: str, where: str, *, chat_input: bool) -> list[str]:
    problems: list[str] = []
    if chat_input:
        if not _CHAT_INPUT_NAME.match(name or ""):
            problems.append(f"{where}.name {name!r} does not match Discord's name regex (1-32)")
        elif name != name.lower():
            problems.append(f"{where}.name {name!r} must be lowercase")
        if not 1 <= len(desc or "") <= COMMAND_DESCRIPTION_MAX:
            problems.append(
                f"{where}.description has {len(desc or '')} characters "
                f"(1-{COMMAND_DESCRIPTION_MAX})"
            )
    elif not 1 <= len(name or "") <= COMMAND_NAME_MAX:
        problems.append(f"{where}.name {name!r} must have 1-{COMMAND_NAME_MAX} characters")
    return problems


def check_command(cmd: Any, where: str = "command") -> list[str]:
    """One application command as sent to the bulk-overwrite endpoints."""
    if not isinstance(cmd, dict):
        return [f"{where} is not an object"]
    kind = cmd.get("type", 1)
    name = cmd.get("name", "")
    where = f"{where} {name!r}"
    if kind == 1:
        problems = _check_name_description(name, cmd.get("description", ""), where, chat_input=True)
        problems += _check_localizations(cmd, where, name_rule="chat_input")
        option_problems, chars = _check_options(cmd.get("options"), where, 0)
        problems += option_problems
        chars += len(name) + len(cmd.get("description", ""))
        if chars > COMMAND_TOTAL_CHARS_MAX:
            problems.append(f"{where} totals {chars} characters (max {COMMAND_TOTAL_CHARS_MAX})")
        return problems
    problems = _check_name_description(name, "", where, chat_input=False)
    problems += _check_localizations(cmd, where, name_rule="free")
    if cmd.get("description_localizations"):
        problems.append(f"{where}: context menu commands have no description to localise")
    if cmd.get("description"):
        problems.append(f"{where}: context menu commands must have an empty description")
    return problems


def check_command_list(commands: Any) -> list[str]:
    if not isinstance(commands, list):
        return ["bulk overwrite body is not a list"]
    problems: list[str] = []
    seen: set[tuple[int, str]] = set()
    counts = {1: 0, 2: 0, 3: 0}
    for i, cmd in enumerate(commands):
        problems += check_command(cmd, f"commands[{i}]")
        if isinstance(cmd, dict):
            key = (cmd.get("type", 1), cmd.get("name", ""))
            if key in seen:
                problems.append(f"commands[{i}]: duplicate command name {key[1]!r}")
            seen.add(key)
            counts[key[0]] = counts.get(key[0], 0) + 1
    chat_input = [c for c in commands if isinstance(c, dict) and c.get("type", 1) == 1]
    problems += _check_sibling_names(chat_input, "commands")
    if counts.get(1, 0) > 100:
        problems.append(f"{counts[1]} chat input commands (max 100)")
    for kind, label in ((2, "user"), (3, "message")):
        if counts.get(kind, 0) > 5:
            problems.append(f"{counts[kind]} {label} context menu commands (max 5)")
    return problems


def check_interaction_callback(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    kind = body.get("type")
    data = body.get("data") or {}
    if kind in (4, 7):
        return check_message(data, allow_ephemeral=True)
    if kind == 8:
        choices = data.get("choices")
        if not isinstance(choices, list):
            return ["autocomplete result without a choices list"]
        problems = []
        if len(choices) > AUTOCOMPLETE_CHOICES_MAX:
            problems.append(
                f"autocomplete returned {len(choices)} choices (max {AUTOCOMPLETE_CHOICES_MAX})"
            )
        for k, choice in enumerate(choices):
            problems += _check_choice(choice, f"choices[{k}]")
        return problems
    if kind == 9:
        return check_modal(data)
    if kind in (1, 5, 6, 12):
        return []
    return [f"unknown interaction callback type {kind!r}"]
