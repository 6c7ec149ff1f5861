"""Modals in the fake: Discord's rules for a MODAL callback (type 9) and the MODAL_SUBMIT
interaction (type 5) a person sends back by filling the form in.

Kept apart from ``limits`` and ``builders`` so other extensions of the fake merge cleanly.
Rules from Discord's docs (interaction responses, text inputs, labels): a modal has a title of
1-45 characters, a custom_id of 1-100, and 1-5 top-level components, each an action row with
one text input (the older form) or a label (type 18, text 1-45, description up to 100)
holding one; a text input has a custom_id of 1-100, style 1 (short) or 2 (paragraph),
min_length 0-4000, max_length 1-4000 (min <= max), a value and a placeholder within those.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .state import snowflake

MODAL = 9  # interaction callback type
MODAL_SUBMIT = 5  # interaction type
ACTION_ROW = 1
TEXT_INPUT = 4
LABEL = 18

TITLE_MAX = 45
CUSTOM_ID_MAX = 100
COMPONENTS_MAX = 5
LABEL_TEXT_MAX = 45
LABEL_DESCRIPTION_MAX = 100
TEXT_LENGTH_MAX = 4000
PLACEHOLDER_MAX = 100

# Interactions a modal may answer: a command and a component, never autocomplete or a
# submitted modal (Discord answers 400 "Interaction has already been acknowledged" or
# "Cannot send a modal in response to a modal").
MAY_OPEN_MODAL = frozenset({2, 3})


def _custom_id_problems(value: Any, where: str) -> list[str]:
    if not isinstance(value, str) or not 1 <= len(value) <= CUSTOM_ID_MAX:
        return [f"{where}.custom_id must be 1-{CUSTOM_ID_MAX} characters, got {value!r}"]
    return []


def _text_input_problems(comp: dict[str, Any], where: str, *, in_label: bool) -> list[str]:
    problems = _custom_id_problems(comp.get("custom_id"), where)
    if comp.get("style") not in (1, 2):
        problems.append(f"{where}.style must be 1 (short) or 2 (paragraph)")
    label = comp.get("label")
    if in_label and label is not None:
        problems.append(f"{where}.label is not allowed inside a label component")
    if not in_label and (not isinstance(label, str) or not 1 <= len(label) <= LABEL_TEXT_MAX):
        problems.append(f"{where}.label must be 1-{LABEL_TEXT_MAX} characters")
    low, high = comp.get("min_length"), comp.get("max_length")
    if low is not None and not (isinstance(low, int) and 0 <= low <= TEXT_LENGTH_MAX):
        problems.append(f"{where}.min_length must be 0-{TEXT_LENGTH_MAX}, got {low!r}")
    if high is not None and not (isinstance(high, int) and 1 <= high <= TEXT_LENGTH_MAX):
        problems.append(f"{where}.max_length must be 1-{TEXT_LENGTH_MAX}, got {high!r}")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        problems.append(f"{where}.min_length {low} is above max_length {high}")
    value = comp.get("value")
    if isinstance(value, str) and len(value) > (high or TEXT_LENGTH_MAX):
        problems.append(f"{where}.value is longer than max_length")
    placeholder = comp.get("placeholder")
    if isinstance(placeholder, str) and len(placeholder) > PLACEHOLDER_MAX:
        problems.append(f"{where}.placeholder has more than {PLACEHOLDER_MAX} characters")
    return problems


def check_modal(data: Any) -> list[str]:
    """Problems with the ``data`` of a MODAL callback (empty: Discord would accept it)."""
    if not isinstance(data, dict):
        return ["modal data is not a JSON object"]
    problems: list[str] = []
    title = data.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= TITLE_MAX:
        problems.append(f"modal title must be 1-{TITLE_MAX} characters, got {title!r}")
    problems += _custom_id_problems(data.get("custom_id"), "modal")
    components = data.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= COMPONENTS_MAX:
        return [*problems, f"a modal needs 1-{COMPONENTS_MAX} components"]
    seen: set[str] = set()
    for i, top in enumerate(components):
        where = f"modal.components[{i}]"
        kind = top.get("type") if isinstance(top, dict) else None
        if kind == ACTION_ROW:
            children = top.get("components") or []
            if len(children) != 1 or children[0].get("type") != TEXT_INPUT:
                problems.append(f"{where}: an action row in a modal holds exactly one text input")
                continue
            problems += _text_input_problems(children[0], f"{where}.components[0]", in_label=False)
            ids = [children[0].get("custom_id")]
        elif kind == LABEL:
            text = top.get("label")
            if not isinstance(text, str) or not 1 <= len(text) <= LABEL_TEXT_MAX:
                problems.append(f"{where}.label must be 1-{LABEL_TEXT_MAX} characters")
            description = top.get("description")
            if isinstance(description, str) and len(description) > LABEL_DESCRIPTION_MAX:
                problems.append(f"{where}.description has more than {LABEL_DESCRIPTION_MAX}")
            inner = top.get("component")
            if not isinstance(inner, dict):
                problems.append(f"{where}: a label needs a component")
                continue
            if inner.get("type") == TEXT_INPUT:
                problems += _text_input_problems(inner, f"{where}.component", in_label=True)
            ids = [inner.get("custom_id")]
        else:
            problems.append(f"{where} has type {kind!r}: not allowed at a modal's top level")
            continue
        for custom_id in ids:
            if isinstance(custom_id, str):
                if custom_id in seen:
                    problems.append(f"{where}: duplicate custom_id {custom_id!r}")
                seen.add(custom_id)
    return problems


def text_inputs(modal: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every text input of a modal, in order, whichever form holds it."""
    for top in modal.get("components") or []:
        if top.get("type") == ACTION_ROW:
            yield from (c for c in top.get("components") or [] if c.get("type") == TEXT_INPUT)
        elif top.get("type") == LABEL and (top.get("component") or {}).get("type") == TEXT_INPUT:
            yield top["component"]


def _filled(comp: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    custom_id = str(comp["custom_id"])
    value = values.get(custom_id, comp.get("value") or "")
    # What Discord's form itself would not let a person send.
    if comp.get("required", True) and not value:
        raise ValueError(f"text input {custom_id!r} is required")
    high = comp.get("max_length") or TEXT_LENGTH_MAX
    low = comp.get("min_length") or 0
    if value and not low <= len(value) <= high:
        raise ValueError(f"text input {custom_id!r} takes {low}-{high} characters")
    return {"type": TEXT_INPUT, "id": comp.get("id", 0), "custom_id": custom_id, "value": value}


def submit_data(modal: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The ``data`` of the MODAL_SUBMIT Discord sends when the form is filled in with
    ``values`` (text input custom_id -> text); the structure mirrors the modal's."""
    unknown = set(values) - {str(c.get("custom_id")) for c in text_inputs(modal)}
    if unknown:
        raise ValueError(f"the modal has no text inputs {sorted(unknown)}")
    components: list[dict[str, Any]] = []
    for n, top in enumerate(modal.get("components") or [], start=1):
        if top.get("type") == ACTION_ROW:
            inner = [_filled(c, values) for c in top.get("components") or []]
            components.append({"type": ACTION_ROW, "id": top.get("id", n), "components": inner})
        elif top.get("type") == LABEL:
            components.append(
                {
                    "type": LABEL,
                    "id": top.get("id", n),
                    "component": _filled(top["component"], values),
                }
            )
    return {"custom_id": modal["custom_id"], "components": components}


def submit_payload(
    opened_by: dict[str, Any], modal: dict[str, Any], values: dict[str, str]
) -> dict[str, Any]:
    """The MODAL_SUBMIT interaction for a modal opened in answer to ``opened_by``: same
    place and person (and message, when a component opened it), new id and token."""
    payload = {
        key: value for key, value in opened_by.items() if key not in ("id", "token", "type", "data")
    }
    payload.update(
        id=str(snowflake()),
        token=f"{opened_by['token']}-m{snowflake()}",
        type=MODAL_SUBMIT,
        data=submit_data(modal, values),
    )
    return payload
