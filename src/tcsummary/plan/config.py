"""The workflow config checked against its schema, with errors a person can act on.

``workflow/schemas/config.schema.yaml`` is the one source of every key, its
default and its description: Snakemake's ``validate`` fills the defaults in,
``config/README.md``'s table is generated from it (:func:`schema_table`, a test
keeps them equal). Before that, :func:`check_config` turns the schema's
complaints into one line: an unknown key names the closest valid one instead of
dumping the schema.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import yaml

from .selection import ConfigError


def load_schema(path: Path | str) -> dict[str, Any]:
    """The schema as data (libyaml's safe loader where PyYAML has it: 2 ms instead of 23)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader)


def _unknown_key(key: str, known: list[str], where: str) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(known)}"
    return f"unknown config key {where}{key!r}{hint}"


def _check_keys(value: Any, spec: dict[str, Any], where: str) -> None:
    """Unknown keys inside objects and lists of objects, with the closest valid one."""
    objects = [alt for alt in spec.get("oneOf", []) if alt.get("type") == "object"]
    if isinstance(value, dict) and objects and "properties" not in spec:
        spec = objects[0]
    if isinstance(value, list) and spec.get("items", {}):
        for i, item in enumerate(value):
            _check_keys(item, spec["items"], f"{where}[{i}]")
        return
    inner = sorted(spec.get("properties", {}))
    if isinstance(value, dict) and inner and spec.get("additionalProperties") is False:
        for name in value:
            if name not in inner:
                raise ConfigError(_unknown_key(name, inner, f"{where}."))
        for name, item in value.items():
            _check_keys(item, spec["properties"][name], f"{where}.{name}")


def check_config(config: dict[str, Any], schema: dict[str, Any]) -> None:
    """Raise ConfigError with one line for the first key or value the schema rejects."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    known = sorted(schema.get("properties", {}))
    for key in config:
        if key not in known:
            raise ConfigError(_unknown_key(key, known, ""))
    for key, sub in schema.get("properties", {}).items():
        _check_keys(config.get(key), sub, key)
    error = best_match(Draft202012Validator(schema).iter_errors(config))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        value = json.dumps(error.instance, default=str)
        if len(value) > 80:
            value = value[:77] + "..."
        expected = _description(schema, list(error.absolute_schema_path), error.message)
        raise ConfigError(f"config key {where}: {value} is not valid: expected {expected}")


def _description(schema: dict[str, Any], path: list[Any], fallback: str) -> str:
    """The deepest description on the way to the rejected part of the schema."""
    node: Any = schema
    found = fallback
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and "description" in node:
            found = node["description"]
    return found


def _default_text(spec: dict[str, Any]) -> str:
    if "default" not in spec:
        return "(required)"
    return f"`{json.dumps(spec['default'])}`"


def schema_table(schema: dict[str, Any]) -> str:
    """The Markdown table of every config key: its default and what it means."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, spec in schema["properties"].items():
        lines.append(f"| `{key}` | {_default_text(spec)} | {spec['description']} |")
        for name, inner in spec.get("properties", {}).items():
            lines.append(f"| `{key}.{name}` | {_default_text(inner)} | {inner['description']} |")
        for name, inner in spec.get("items", {}).get("properties", {}).items():
            if "description" in inner:
                lines.append(
                    f"| `{key}[].{name}` | {_default_text(inner)} | {inner['description']} |"
                )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(schema_table(load_schema(sys.argv[1])))
