"""Validation of request bodies against Discord's own OpenAPI description.

The file is not part of the repository (a user's clone has no ../shared), so it is
read from ``TECHBRIEF_DISCORD_OPENAPI`` or ``<repo>/../shared/discord/openapi.json``;
when absent only this check is skipped, loudly (a warning plus one stderr line).
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ENV_VAR = "TECHBRIEF_DISCORD_OPENAPI"
_REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATH = _REPO_ROOT.parent / "shared" / "discord" / "openapi.json"
_URI = "urn:techbrief:discord-openapi"
_warned = False
# Parsed once per process and path: every fixture builds a FakeDiscord.
_loaded: dict[Path, OpenAPIValidator] = {}


def openapi_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class OpenAPIValidator:
    """Validates a JSON body for (method, path template) against the spec's schema."""

    def __init__(self, document: dict[str, Any]) -> None:
        schemas = document.get("components", {}).get("schemas", {})
        if "SnowflakeType" in schemas:
            # The spec types snowflakes as decimal strings, but Discord also accepts JSON
            # integers, and discord.py sends new attachments' ids as 0, 1, ...
            schemas["SnowflakeType"] = {
                "anyOf": [schemas["SnowflakeType"], {"type": "integer", "minimum": 0}]
            }
        self._doc = document
        resource: Resource[Any] = Resource.from_contents(
            document, default_specification=DRAFT202012
        )
        self._registry: Registry[Any] = Registry().with_resource(_URI, resource)
        self._cache: dict[tuple[str, str], jsonschema.Draft202012Validator | None] = {}

    @classmethod
    def load(cls, path: Path | None = None) -> OpenAPIValidator | None:
        """The validator, or None (after warning once) when the file is missing."""
        global _warned
        path = path or openapi_path()
        if path in _loaded:
            return _loaded[path]
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if not _warned:
                _warned = True
                msg = (
                    f"fakediscord: Discord OpenAPI file not found at {path} "
                    f"(set {ENV_VAR}); SKIPPING schema validation of request bodies "
                    "(Discord's length/count limits are still checked)."
                )
                warnings.warn(msg, stacklevel=2)
                print(msg, file=sys.stderr)
            return None
        _loaded[path] = validator = cls(document)
        return validator

    def _validator(self, method: str, template: str) -> jsonschema.Draft202012Validator | None:
        key = (method, template)
        if key not in self._cache:
            op = self._doc.get("paths", {}).get(template, {}).get(method.lower())
            content = (op or {}).get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                self._cache[key] = None
            else:
                pointer = "/".join(
                    _escape(t)
                    for t in ("paths", template, method.lower(), "requestBody", "content")
                )
                schema = {"$ref": f"{_URI}#/{pointer}/application~1json/schema"}
                self._cache[key] = jsonschema.Draft202012Validator(schema, registry=self._registry)
        return self._cache[key]

    def check(self, method: str, template: str, body: Any) -> list[str]:
        validator = self._validator(method, template)
        if validator is None:
            return []
        problems = []
        for error in validator.iter_errors(body):
            # anyOf/oneOf errors are unreadable at the top; show the best nested reason.
            best = jsonschema.exceptions.best_match([error])
            path = "/".join(str(p) for p in best.absolute_path) or "<body>"
            problems.append(f"OpenAPI: {path}: {best.message[:300]}")
        return problems
