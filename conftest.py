"""Repository-level pytest configuration.

This file marks the repository root as pytest's rootdir, so our ``tests/`` folder (which has no
``__init__.py`` on purpose) never clashes with the top-level ``tests`` package that pynq installs.
The chapter-running plugin is enabled in ``pyproject.toml`` (``-p pynq_ia.nbval_chapters``).
"""
