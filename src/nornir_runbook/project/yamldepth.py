"""The nesting limit every YAML file nrb reads is held to (runbooks, config.yaml, inventory files):
lists and mappings inside each other at most :data:`MAX_DEPTH` deep, checked before the YAML
parsers (which recurse) see the text."""

from __future__ import annotations

from typing import Any

import yaml as pyyaml

MAX_DEPTH = 100  # lists and mappings inside each other; every later step may recurse
TOO_DEEP = f"lists and mappings nested more than {MAX_DEPTH} levels deep"


def too_deep(text: str, limit: int = MAX_DEPTH) -> Any:
    """The mark of the first list or mapping of ``text`` nested more than ``limit`` deep, or
    None (also when libyaml is missing or finds an error first: ruamel then says what it is).

    libyaml's parser, because ruamel's takes time quadratic in the nesting of flow collections
    (seconds for ``[[[[...]]]]`` a few thousand deep) and composes them recursively.
    """
    loader = getattr(pyyaml, "CSafeLoader", None)
    if loader is None:
        return None
    depth = 0
    try:
        for event in pyyaml.parse(text, Loader=loader):
            if isinstance(event, pyyaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    return event.start_mark
            elif isinstance(event, pyyaml.CollectionEndEvent):
                depth -= 1
    except pyyaml.YAMLError as exc:  # its own limit (1000) is met while it looks ahead
        if "nesting depth" in str(getattr(exc, "problem", "")):
            return getattr(exc, "problem_mark", None)
    return None
