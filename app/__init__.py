"""RetinaLab's desktop app (PySide6): views, the document model with undo, and workers over ``engine``."""
