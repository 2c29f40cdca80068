"""Class names for YOLO datasets: the ``names:`` (or ``nc:``) of a data YAML, read with PyYAML.

``names:`` may be a list (flow ``[a, 'b c']`` or block ``- a``), a mapping from index to name
(``0: a``; missing indices are named by their number), or one name; ``nc:`` alone names the classes by
index. Scalars are kept as the text written (PyYAML's ``BaseLoader``, which builds only strings, lists
and dicts): a class called ``no`` or ``null`` stays that word. Hostile files get one line, fast: over
``MAX_YAML_BYTES``, nested too deeply, a key over YAML's 1,024 characters or an index over
``MAX_CLASS_INDEX``; aliases are shared, never expanded, and a name must be plain text, so an alias
bomb is refused at once.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from engine.io._common import MAX_CLASS_INDEX

MAX_YAML_BYTES = 1_000_000  # real data YAMLs are a few KB; a megabyte of names takes PyYAML about a second
MAX_KEY_CHARS = 1024  # YAML's limit for a plain key
_LONG_KEY = re.compile(rf"\s*[^:]{{{MAX_KEY_CHARS + 1},}}:(\s|$)")
# libyaml's parser (in PyYAML's wheels) is ~10x faster than the pure-Python one and refuses nesting past
# 1,000 levels on its own; both build only strings, lists and dicts (BaseLoader: nothing is resolved).
_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def _index(text: str, what: str) -> int:
    """A class index or count from YAML text, refused (ValueError) above ``MAX_CLASS_INDEX``."""
    digits = text.strip().lstrip("0") or "0"
    if len(digits) > 12 or int(digits) > MAX_CLASS_INDEX + (what == "nc"):
        shown = digits if len(digits) <= 12 else digits[:12] + "..."
        limit = MAX_CLASS_INDEX + 1 if what == "nc" else MAX_CLASS_INDEX
        raise ValueError(f"{what} {shown} is over the limit of {limit:,}")
    return int(digits)


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"the class name {where} is a {'list' if isinstance(value, list) else 'mapping'}, not text")
    return value


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [_name(v, f"at position {i}") for i, v in enumerate(value)]
    by_index = {_index(k, "class index"): _name(v, f"of {k}") for k, v in value.items()
                if isinstance(k, str) and re.fullmatch(r"\s*\d+\s*", k)}
    return [by_index.get(i, str(i)) for i in range(max(by_index) + 1)] if by_index else []


def parse_yaml_names(text: str) -> list[str] | None:
    """Class names from data-YAML ``text`` (see module docstring); None when it has no ``names``/``nc``.

    Raises ValueError (one line) for text that is not YAML, over ``MAX_YAML_BYTES``, a class name that
    is not text, or a class index or ``nc`` over ``MAX_CLASS_INDEX`` (a list of millions of names).
    """
    if len(text) > MAX_YAML_BYTES:
        raise ValueError(f"{len(text):,} characters is over the {MAX_YAML_BYTES:,}-byte limit for a data YAML")
    try:
        data = yaml.load(text, Loader=_LOADER)  # safe: builds only str, list and dict
    except yaml.MarkedYAMLError as exc:
        raise ValueError(_one_line(exc, text)) from None
    except yaml.YAMLError as exc:  # the reader's: a character YAML does not allow
        raise ValueError("not valid YAML: " + " ".join(str(exc).replace('"<unicode string>", ', "").split())) from None
    except RecursionError:
        raise ValueError("not a data YAML: nested too deeply") from None
    if not isinstance(data, dict):
        return None
    names = _names(data["names"]) if "names" in data else []
    if names:
        return names
    nc = data.get("nc")
    if isinstance(nc, str) and re.fullmatch(r"\s*\d+\s*", nc):
        return [str(i) for i in range(_index(nc, "nc"))] or None
    return [] if "names" in data else None


def _one_line(exc: yaml.MarkedYAMLError, text: str) -> str:
    mark = exc.problem_mark
    lines = text.splitlines()
    if mark is not None and mark.line < len(lines) and _LONG_KEY.match(lines[mark.line]):
        return f"the key at line {mark.line + 1} is over the limit of {MAX_KEY_CHARS:,} characters for a key"
    return f"not valid YAML: {exc.problem or exc.context}" + (f" at line {mark.line + 1}" if mark else "")


def format_yaml_names(names: list[str]) -> str:
    """``names:`` as a block mapping, every name double-quoted (JSON strings are valid YAML)."""
    body = "".join(f"  {i}: {json.dumps(name, ensure_ascii=False)}\n" for i, name in enumerate(names))
    return f"nc: {len(names)}\nnames:\n{body}"
