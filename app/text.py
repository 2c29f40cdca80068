"""Small text helpers shared by the window's messages."""

from __future__ import annotations


def plural(n: int, singular: str, plural_form: str = "") -> str:
    """``"1 image"``, ``"2 images"``; ``plural_form`` when adding an s is wrong (``box`` → ``boxes``)."""
    return f"{n} {singular if n == 1 else plural_form or singular + 's'}"
