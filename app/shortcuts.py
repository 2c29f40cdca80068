"""The keyboard cheat sheet: the README's key table, shown in the app by Help › Keyboard Shortcuts (F1).

A test keeps the two the same, row for row.
"""

from __future__ import annotations

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("W, then drag", "create a box (Esc cancels)"),
    ("click / Ctrl+click, Ctrl+A", "select / add to selection / select all"),
    ("drag, handles", "move / resize"),
    ("arrows (Shift: 10 px)", "nudge the selection"),
    ("Del / Backspace", "delete (a prediction is rejected and kept as known background)"),
    ("1–9, L", "relabel as the n-th class (also from the Boxes list) / searchable label dialog"),
    ("right-click a box", "relabel, accept, delete, bring to front, copy"),
    ("Enter", "accept the selected predictions"),
    ("Shift+Enter (or Ctrl+Enter)", "accept all predictions above the threshold"),
    ("Ctrl+Z, Ctrl+Shift+Z / Ctrl+Y", "undo, redo (unlimited, per image)"),
    ("Ctrl+C, Ctrl+V", "copy the selected boxes, paste them (onto another image)"),
    ("Ctrl+Shift+V", "paste the previous image's labels"),
    ("D / A, Shift+D", "next / previous image, next unreviewed"),
    ("Space", "mark reviewed (\"what I see is right\": predictions shown become accepted labels, hidden ones are "
              "dropped) and go to the next image; Ctrl+Z on the next image takes it back (hold Space and drag to pan)"),
    ("wheel, Ctrl+= / Ctrl+-, Ctrl+0 or F", "zoom, fit (also in the View menu)"),
    ("middle drag", "pan"),
    ("H", "hide / show the boxes"),
    ("Ctrl+Shift+B", "brightness / contrast of the display (the file is not changed)"),
    ("R, Ctrl+Shift+R", "detect the current image, detect all (auto-label with progress and cancel)"),
    ("Ctrl+Shift+L, X", "the Review dock; apply the fix the selected finding suggests (Ctrl+Z undoes it)"),
    ("Ctrl+T", "the Train panel"),
    ("G", "grab the camera or video frame on screen into the project"),
    ("Ctrl+O, Ctrl+I, Ctrl+E", "open a folder (File › Open Recent; or drop a folder on the window), import labels, export"),
    ("F1", "this list"),
)
