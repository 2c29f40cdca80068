"""Class names for YOLO datasets: ``classes.txt`` / ``obj.names`` and the ``names:`` key of a data YAML.

PyYAML is not among RetinaLab's dependencies, so this reads just the part of an Ultralytics-style
data YAML that a detection dataset needs: ``names:`` as a flow list (``[a, 'b c']``), a block list
(``- a``), a flow or block mapping from index to name (``0: a``), or ``nc:`` alone (names become the
indices). Quoted names (single or double quotes) and trailing ``# comments`` are handled; anchors,
tags and multi-document files are not (nobody writes those in a data YAML).
"""

from __future__ import annotations

import json
import re

from engine.io._common import MAX_CLASS_INDEX

_KEY = re.compile(r"^(names|nc)\s*:(.*)$")


def _strip_comment(text: str) -> str:
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].strip()
    return text.strip()


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return str(json.loads(text))
        except json.JSONDecodeError:
            return text[1:-1]
    return text


def _split_flow(body: str) -> list[str]:
    """Split the inside of ``[...]`` or ``{...}`` at top-level commas, respecting quotes."""
    items, current, quote = [], "", None
    for ch in body:
        if quote:
            current += ch
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            current += ch
        elif ch == ",":
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    return [item.strip() for item in items if item.strip()]


def _split_key(item: str) -> tuple[str, str] | None:
    match = re.match(r"^\s*(['\"]?)(\d+)\1\s*:\s*(.*)$", item)
    return (match.group(2), match.group(3)) if match else None


def _index(text: str, what: str) -> int:
    """A class index or count from YAML text, refused (ValueError) above ``MAX_CLASS_INDEX``."""
    digits = text.strip().lstrip("0") or "0"
    if len(digits) > 12 or int(digits) > MAX_CLASS_INDEX + (what == "nc"):
        shown = digits if len(digits) <= 12 else digits[:12] + "..."
        limit = MAX_CLASS_INDEX + 1 if what == "nc" else MAX_CLASS_INDEX
        raise ValueError(f"{what} {shown} is over the limit of {limit:,}")
    return int(digits)


def _from_mapping(pairs: list[tuple[str, str]]) -> list[str]:
    by_index = {_index(k, "class index"): _scalar(v) for k, v in pairs}
    if not by_index:
        return []
    return [by_index.get(i, str(i)) for i in range(max(by_index) + 1)]


def parse_yaml_names(text: str) -> list[str] | None:
    """Class names from data-YAML ``text`` (see module docstring); None when it has no ``names``/``nc``.

    Raises ValueError (one line) for a class index or ``nc`` over ``MAX_CLASS_INDEX``: such a file
    would otherwise make a list of millions of names.
    """
    lines = text.splitlines()
    nc: int | None = None
    for i, line in enumerate(lines):
        match = _KEY.match(line)
        if not match:
            continue
        key, rest = match.group(1), _strip_comment(match.group(2))
        if key == "nc":
            if re.fullmatch(r"\d+", rest):
                nc = _index(rest, "nc")
            continue
        if rest.startswith(("[", "{")):
            closing = "]" if rest[0] == "[" else "}"
            body, j = rest[1:], i
            while closing not in body and j + 1 < len(lines):
                j += 1
                body += " " + _strip_comment(lines[j])
            body = body[: body.rfind(closing)] if closing in body else body
            items = _split_flow(body)
            if closing == "]":
                return [_scalar(item) for item in items]
            return _from_mapping([kv for kv in map(_split_key, items) if kv])
        if rest:
            return [_scalar(rest)]
        block: list[str] = []
        for follow in lines[i + 1 :]:
            if follow.strip() and not follow[0].isspace() and not follow.startswith("-"):
                break
            item = _strip_comment(follow)
            if item:
                block.append(item)
        if block and all(item.startswith("-") for item in block):
            return [_scalar(item[1:]) for item in block]
        return _from_mapping([kv for kv in map(_split_key, block) if kv])
    return [str(i) for i in range(nc)] if nc else None


def format_yaml_names(names: list[str]) -> str:
    """``names:`` as a block mapping, every name double-quoted (JSON strings are valid YAML)."""
    body = "".join(f"  {i}: {json.dumps(name, ensure_ascii=False)}\n" for i, name in enumerate(names))
    return f"nc: {len(names)}\nnames:\n{body}"
