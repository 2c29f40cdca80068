"""Space on the canvas is tap-or-hold: a tap asks to mark reviewed, a hold with a drag only pans."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from canvas_helpers import drag

K = Qt.Key


def _space(canvas, kind: QEvent.Type, *, autorepeat: bool = False) -> None:
    QApplication.sendEvent(canvas, QKeyEvent(kind, K.Key_Space, Qt.KeyboardModifier.NoModifier, " ", autorepeat))


def test_tapping_space_emits_space_tapped_once(qtbot, canvas):
    with qtbot.waitSignal(canvas.space_tapped, timeout=1000):
        qtbot.keyClick(canvas, K.Key_Space)
    tapped = []
    canvas.space_tapped.connect(lambda: tapped.append(1))
    qtbot.keyClick(canvas, K.Key_Space)
    assert tapped == [1]


def test_holding_space_and_dragging_pans_without_a_tap_or_a_box(qtbot, canvas, doc):
    for _ in range(4):
        canvas.zoom_in()  # the image is larger than the view: there is room to pan
    h, v = canvas.horizontalScrollBar(), canvas.verticalScrollBar()
    before = (h.value(), v.value())
    tapped = []
    canvas.space_tapped.connect(lambda: tapped.append(1))
    _space(canvas, QEvent.Type.KeyPress)
    for _ in range(3):  # a held key repeats: press/release pairs flagged autorepeat
        _space(canvas, QEvent.Type.KeyRelease, autorepeat=True)
        _space(canvas, QEvent.Type.KeyPress, autorepeat=True)
    drag(canvas, (50, 40), (45, 36))
    _space(canvas, QEvent.Type.KeyRelease)
    assert (h.value(), v.value()) != before
    assert tapped == []
    assert doc.boxes() == []  # the drag panned; it did not draw or select


def test_space_overrides_window_shortcuts_while_the_canvas_has_focus(qtbot, canvas):
    override = QKeyEvent(QEvent.Type.ShortcutOverride, K.Key_Space, Qt.KeyboardModifier.NoModifier, " ")
    override.ignore()
    QApplication.sendEvent(canvas, override)
    assert override.isAccepted()
    other = QKeyEvent(QEvent.Type.ShortcutOverride, K.Key_D, Qt.KeyboardModifier.NoModifier, "d")
    other.ignore()
    QApplication.sendEvent(canvas, other)
    assert not other.isAccepted()  # D stays a window shortcut (next image)
