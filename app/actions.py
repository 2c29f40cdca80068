"""Every menu action with its shortcut, grouped in small typed structures (labelme v7 style).

``build_actions`` creates the QActions (no behaviour: the main window connects them to controllers);
``build_menus`` lays them out. Shortcuts: D / A next / previous, Shift+D next unreviewed, Space mark
reviewed and move on (the canvas takes Space while it has focus, for tap-or-hold-to-pan, and emits
``space_tapped`` for the same action), Ctrl+Z undo, Ctrl+Shift+Z and Ctrl+Y redo, Ctrl+O open folder, R detect,
Ctrl+E export, L relabel the selection, Ctrl+T show / hide the Train panel (``app.lazy_docks`` puts it
at the end of the Model menu and installs the panel on its first use).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QMenu, QMenuBar, QWidget


def _action(parent: QWidget, text: str, name: str, *shortcuts: str | QKeySequence.StandardKey,
            tip: str = "") -> QAction:
    action = QAction(text, parent)
    action.setObjectName(name)
    if shortcuts:
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    if tip:
        action.setStatusTip(tip)
    parent.addAction(action)  # shortcuts work even when the menu bar is hidden
    return action


@dataclass(frozen=True)
class FileActions:
    open_folder: QAction
    export: QAction
    import_labels: QAction
    quit: QAction


@dataclass(frozen=True)
class EditActions:
    undo: QAction
    redo: QAction
    relabel: QAction
    accept_all: QAction


@dataclass(frozen=True)
class NavigateActions:
    next_image: QAction
    previous_image: QAction
    next_unreviewed: QAction
    mark_reviewed: QAction


@dataclass(frozen=True)
class ModelActions:
    coco_r50: QAction
    coco_r50_v2: QAction
    compact: QAction
    checkpoint: QAction
    export_onnx: QAction
    detect: QAction
    detect_all: QAction
    auto_detect: QAction
    train: QAction  # checkable: the Train panel is shown


@dataclass(frozen=True)
class Actions:
    file: FileActions
    edit: EditActions
    navigate: NavigateActions
    model: ModelActions


# (menu text, arch) for the COCO-pretrained entries of the Model menu
PRETRAINED_ENTRIES = (
    ("COCO RetinaNet R50-FPN v1", "retinanet_resnet50_fpn"),
    ("COCO RetinaNet R50-FPN v2", "retinanet_resnet50_fpn_v2"),
)


def build_actions(parent: QWidget, undo_stack: QUndoStack) -> Actions:
    file = FileActions(
        open_folder=_action(parent, "&Open Folder…", "open_folder", QKeySequence.StandardKey.Open),
        export=_action(parent, "&Export…", "export", "Ctrl+E", tip="Write COCO, VOC or YOLO"),
        import_labels=_action(parent, "&Import Labels…", "import_labels", "Ctrl+I"),
        quit=_action(parent, "&Quit", "quit", QKeySequence.StandardKey.Quit),
    )
    undo = undo_stack.createUndoAction(parent, "&Undo")
    undo.setObjectName("undo")
    undo.setShortcuts([QKeySequence("Ctrl+Z")])
    redo = undo_stack.createRedoAction(parent, "&Redo")
    redo.setObjectName("redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    parent.addAction(undo)
    parent.addAction(redo)
    edit = EditActions(
        undo=undo,
        redo=redo,
        relabel=_action(parent, "&Relabel Selection…", "relabel", "L"),
        accept_all=_action(parent, "&Accept Predictions Above Threshold", "accept_all", "Ctrl+Return"),
    )
    navigate = NavigateActions(
        next_image=_action(parent, "&Next Image", "next_image", "D"),
        previous_image=_action(parent, "&Previous Image", "previous_image", "A"),
        next_unreviewed=_action(parent, "Next &Unreviewed", "next_unreviewed", "Shift+D"),
        mark_reviewed=_action(parent, "&Mark Reviewed and Next", "mark_reviewed", "Space"),
    )
    auto = _action(parent, "Detect &Automatically on New Images", "auto_detect")
    auto.setCheckable(True)
    auto.setChecked(True)
    train = _action(parent, "&Train…", "train_panel_action", "Ctrl+T")
    train.setToolTip("Fine-tune the detector on the reviewed images")
    train.setCheckable(True)
    model = ModelActions(
        coco_r50=_action(parent, PRETRAINED_ENTRIES[0][0], "coco_r50"),
        coco_r50_v2=_action(parent, PRETRAINED_ENTRIES[1][0], "coco_r50_v2"),
        compact=_action(parent, "&Compact Model (demo)", "compact_model"),
        checkpoint=_action(parent, "Load &Checkpoint…", "load_checkpoint", tip="A checkpoint (.pt) or ONNX file"),
        export_onnx=_action(parent, "&Export…", "export_onnx", tip="Save the loaded checkpoint as ONNX"),
        detect=_action(parent, "&Detect Current Image", "detect", "R"),
        detect_all=_action(parent, "Detect &All (auto-label)", "detect_all", "Ctrl+Shift+R"),
        auto_detect=auto,
        train=train,
    )
    return Actions(file, edit, navigate, model)


@dataclass(frozen=True)
class Menus:
    file: QMenu
    edit: QMenu
    navigate: QMenu
    model: QMenu


def build_menus(menubar: QMenuBar, actions: Actions) -> Menus:
    file_menu = menubar.addMenu("&File")
    a = actions.file
    file_menu.addAction(a.open_folder)
    file_menu.addSeparator()
    file_menu.addAction(a.import_labels)
    file_menu.addAction(a.export)
    file_menu.addSeparator()
    file_menu.addAction(a.quit)

    edit_menu = menubar.addMenu("&Edit")
    e = actions.edit
    for action in (e.undo, e.redo, None, e.relabel, e.accept_all):
        edit_menu.addAction(action) if action else edit_menu.addSeparator()

    nav_menu = menubar.addMenu("&Navigate")
    n = actions.navigate
    for action in (n.next_image, n.previous_image, n.next_unreviewed, n.mark_reviewed):
        nav_menu.addAction(action)

    model_menu = menubar.addMenu("&Model")
    m = actions.model
    for action in (m.coco_r50, m.coco_r50_v2, m.compact, m.checkpoint, m.export_onnx, None, m.detect,
                   m.detect_all, m.auto_detect):
        model_menu.addAction(action) if action else model_menu.addSeparator()
    return Menus(file_menu, edit_menu, nav_menu, model_menu)
