"""Repository-level pytest configuration.

This file marks the repository root as pytest's rootdir, so our ``tests/`` folder (which has no
``__init__.py`` on purpose) never clashes with the top-level ``tests`` package that pynq installs.
It enables the book's chapter runner, :mod:`tools.nbval_chapters` (``tools/`` is on the path
through ``pythonpath`` in ``pyproject.toml``).
"""

pytest_plugins = ["tools.nbval_chapters"]
