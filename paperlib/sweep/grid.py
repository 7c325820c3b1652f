"""A sweep's grid: seeds x the values given with `--set NAME=V1,V2`, expanded into named members,
each checked as a run configuration before any work starts."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from paperlib.core.config import load_profile
from paperlib.core.overrides import parse_sets


@dataclass(frozen=True)
class Member:
    """One run of the grid: its name (its folder under members/) and its parameters."""

    name: str
    overrides: dict[str, Any] = field(hash=False)
    config_key: str = ""  # the key of its result parameters (Config.key)

    def group(self) -> dict[str, Any]:
        """Its grid values but the seed: members of one group differ only in their seed."""
        return {k: v for k, v in self.overrides.items() if k != "seed"}


def parse_axes(items: list[str]) -> dict[str, list[Any]]:
    """The grid's axes from `--set NAME=V1,V2,...` (`core.overrides.parse_sets`); run_dir is the
    sweep's to place."""
    axes = parse_sets(items, several=True)
    if "run_dir" in axes:
        raise ValueError("A sweep places every member's run folder itself (members/<name>); "
                         "run_dir cannot be set.")
    return axes


def _slug(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-") or "x"


def expand(profile: str, *, seeds: int | None, axes: dict[str, list[Any]]) -> list[Member]:
    """Every member of seeds x axes. `seeds` counts seeds from the profile's (42, 43, ... for
    `--seeds 2` on a profile with seed 42); `--set seed=...` gives them instead."""
    axes = dict(axes)
    if seeds is not None:
        if "seed" in axes:
            raise ValueError("Give the seeds either as --seeds N or as --set seed=S1,S2,..., not both.")
        if seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {seeds}.")
        base = load_profile(profile, **{k: v[0] for k, v in axes.items()}).seed
        axes["seed"] = list(range(base, base + seeds))
    axes.setdefault("seed", [load_profile(profile, **{k: v[0] for k, v in axes.items()}).seed])
    names = ["seed", *sorted(k for k in axes if k != "seed")]
    members = []
    for combo in itertools.product(*(axes[n] for n in names)):
        overrides = dict(zip(names, combo))
        key = load_profile(profile, **overrides).key()  # refuses a bad member before any work
        label = "_".join(f"{n}-{_slug(v)}" for n, v in overrides.items()
                         if n == "seed" or len(axes[n]) > 1)
        members.append(Member(label, overrides, key))
    if len({m.name for m in members}) != len(members):
        raise ValueError("Two members of the grid would share a folder name; give values that "
                         "differ in letters or digits.")
    return members
