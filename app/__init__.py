"""RetinaLab's desktop app (PySide6): views, the document model with undo, and workers over ``engine``.

The map of the packages, the contracts and the threading rules: ``docs/architecture.md``.
"""
