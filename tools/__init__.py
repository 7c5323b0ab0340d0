"""The book's own machinery, apart from the course package the chapters import.

- :mod:`tools.book`: the table of contents, the shared execution cache, the scan of outputs no
  page may show, and a small Sphinx extension (listed in ``_config.yml``);
- :mod:`tools.nbval_chapters`: the pytest plugin that runs the chapters with nbval (enabled in
  the repository's ``conftest.py``);
- :mod:`tools.pages`: the built pages in headless Chromium (``make check-book``).
"""
