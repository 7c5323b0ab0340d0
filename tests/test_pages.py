"""The browser check of the built book (tools.pages) on a small page of its own."""

from __future__ import annotations

import shutil
import struct
import zlib

import pytest

from tools import pages

pytestmark = pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("chromedriver")),
    reason="Chromium and its driver are not installed (make system-browser installs them)",
)


def _png(path) -> None:
    """A 2 x 2 grey PNG, written by hand (no image library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\x80" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)  # 2 x 2, 8-bit grey
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PAGE = """<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head>
<body><article class="bd-article">
<figure><img src="described.png" alt="Two grey pixels over two more"><figcaption>
Described and captioned.</figcaption></figure>
<figure><img src="0123abcdef.png" alt="0123abcdef.png"><figcaption>Captioned only.</figcaption>
</figure>
<div class="cell_output"><img src="bare.png" alt="A lonely image without a caption"></div>
</article></body></html>"""


def test_images_need_a_description_and_a_caption(tmp_path):
    for name in ("described.png", "0123abcdef.png", "bare.png"):
        _png(tmp_path / name)
    (tmp_path / "page.html").write_text(PAGE)
    server, url = pages._serve(tmp_path)
    chrome = pages.browser()
    try:
        report = pages.check_page(chrome, url, "page.html", screenshots=None)
    finally:
        chrome.quit()
        server.shutdown()
    assert report.problems == [
        "image without a description (alt text: none or its file name): 0123abcdef.png",
        "image not in a figure with a caption: bare.png",
    ]
