"""`--set NAME=VALUE`, the one parser of parameter overrides from the command line: a run's single
values (`paperlib reproduce`, `train`, `params`) and a sweep's lists of values (`paperlib sweep`).
Values are YAML ("3" is an integer, "true" a boolean, "[8,16,32]" a list); `Config` checks them."""

from __future__ import annotations

import json
from typing import Any

import yaml


def parse_set(item: str, *, several: bool = False) -> tuple[str, Any]:
    """`"epochs=3"` -> ("epochs", 3). With `several`, `"split=random,artist"` -> ("split",
    ["random", "artist"]): commas outside brackets separate the values (`conv_filters=[8,16,32],
    [4,8,16]` gives two lists), and a repeated value is refused."""
    name, sep, text = item.partition("=")
    name = name.strip()
    if not sep or not name or not text.strip():
        expected = "NAME=VALUE or NAME=V1,V2,..." if several else "NAME=VALUE"
        raise ValueError(f"--set expects {expected}, got {item!r}.")
    try:
        value = yaml.safe_load(f"[{text}]" if several else text)
    except yaml.YAMLError as exc:
        raise ValueError(f"--set {item!r}: cannot read the value{'s' if several else ''} "
                         f"({getattr(exc, 'problem', exc)}).") from None
    if several and len(value) != len({json.dumps(v, sort_keys=True) for v in value}):
        raise ValueError(f"--set {item!r} repeats a value.")
    return name, value


def parse_sets(items: list[str], *, several: bool = False) -> dict[str, Any]:
    """Every `--set` of a command by name (see `parse_set`); a name given twice is refused."""
    parsed: dict[str, Any] = {}
    for item in items:
        name, value = parse_set(item, several=several)
        if name in parsed:
            hint = f"; give all its values at once ({name}=V1,V2)" if several else ""
            raise ValueError(f"--set {name}=... is given twice{hint}.")
        parsed[name] = value
    return parsed
