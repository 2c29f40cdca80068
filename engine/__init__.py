"""RetinaLab's engine: models, focal loss, data, training, inference, evaluation, the project store.

Never imports Qt. Importing ``engine`` is cheap: torch is imported by the submodules that need it.
The map of the packages and the rules between them: ``docs/architecture.md``.
"""

__version__ = "0.1.0"
