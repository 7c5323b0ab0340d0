"""The built book, looked at in a real browser (headless Chromium through selenium).

For every page of ``_build/html``, served on localhost:

- the main content does not overflow horizontally, and nothing inside it sticks out to the
  right (a table, a figure, a printed line), except inside a container made to scroll: code
  listings and ``.pynq-ia-scroll`` blocks, where a wide table is the point;
- every image has loaded (``naturalWidth > 0``), is described by its alt text (not its file
  name, myst-nb's default for a cell's output) and stands in a figure with a caption;
- the browser console logged no error;
- no output on a page shows a warning, a traceback or a machine's path
  (:data:`tools.book.FORBIDDEN_OUTPUT`);
- a screenshot of the whole page goes to ``_build/screenshots/``.

The search page must find "hls4ml". ``python -m tools.pages _build/html`` (``make check-book``)
prints each page's result and exits 1 on any problem. Chromium and its driver come from
Debian's packages (the Makefile installs them).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.book import FORBIDDEN_OUTPUT

WINDOW_WIDTH = 1280
#: Chromium's flags for a closed network and no screen (as root, without a sandbox)
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic", f"--window-size={WINDOW_WIDTH},900",
    "--hide-scrollbars",
)
#: the element of a Jupyter Book (pydata-sphinx-theme) page that holds the content
ARTICLE = "article.bd-article"
SEARCH_WORD = "hls4ml"

_LAYOUT_SCRIPT = """
const article = document.querySelector(arguments[0]);
if (!article) { return {missing: true}; }
const right = article.getBoundingClientRect().right;
const scrolls = el => el.closest('.highlight, .pynq-ia-scroll') !== null;
// no alt text, or the image's file name (myst-nb's default for a cell's output: its hash)
const isFileName = alt => alt === '' || /^[\\w.\\/-]+\\.(png|jpe?g|gif|svg|webp)$/i.test(alt);
const out = [];
for (const el of article.querySelectorAll('table, pre, img, svg, .output, p, li')) {
  const r = el.getBoundingClientRect();
  if (r.width > 0 && r.right > right + 1 && !scrolls(el)) {
    const cls = typeof el.className === 'string' && el.className
        ? '.' + el.className.split(' ')[0] : '';
    out.push(`${el.tagName.toLowerCase()}${cls}`
             + ` ends ${Math.round(r.right - right)} px right of the content: `
             + (el.innerText || el.getAttribute('alt') || '').slice(0, 60).replace(/\\s+/g, ' '));
  }
}
return {
  missing: false,
  overflow: article.scrollWidth - article.clientWidth,
  sticking_out: out,
  broken_images: Array.from(document.images)
      .filter(img => !img.complete || img.naturalWidth === 0).map(img => img.src),
  unlabelled_images: Array.from(article.querySelectorAll('img'))
      .filter(img => isFileName((img.getAttribute('alt') || '').trim()))
      .map(img => img.getAttribute('src').split('/').pop()),
  uncaptioned_images: Array.from(article.querySelectorAll('img'))
      .filter(img => !(img.closest('figure') && img.closest('figure').querySelector('figcaption')))
      .map(img => img.getAttribute('src').split('/').pop()),
  outputs: Array.from(article.querySelectorAll('.cell_output'))
      .map(el => el.innerText).join(' | '),
  height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight),
};
"""


@dataclass
class PageReport:
    """What the browser found on one page."""

    page: str
    problems: list[str] = field(default_factory=list)
    screenshot: Path | None = None


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # one line per request would drown the report
        pass


def browser():
    """Headless Chromium through its driver, with the console log kept."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        raise RuntimeError(
            "checking the pages needs Chromium and its driver: sudo apt-get install chromium "
            "chromium-driver (make check-book installs them when it runs as root)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(driver))


def _screenshot(chrome, height: int, path: Path) -> None:
    """The whole page, as a window as tall as the page shows it.

    (Chrome's ``captureBeyondViewport`` lays a long page out again without its sidebars and
    shifted left: a screenshot that would show problems the reader never sees.)
    """
    import base64

    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": WINDOW_WIDTH, "height": min(height, 30000), "deviceScaleFactor": 1,
        "mobile": False,
    })
    try:
        shot = chrome.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        chrome.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def _console_errors(chrome) -> list[str]:
    """Errors the console logged since the last call (it reports a little late: callers wait)."""
    time.sleep(0.3)
    return [f"console error: {entry['message'][:160]}" for entry in chrome.get_log("browser")
            if entry["level"] == "SEVERE"]


def check_page(chrome, url: str, page: str, screenshots: Path | None) -> PageReport:
    from selenium.webdriver.support.ui import WebDriverWait

    report = PageReport(page)
    chrome.get(f"{url}/{page}")
    WebDriverWait(chrome, 30).until(
        lambda c: c.execute_script("return document.readyState") == "complete"
    )
    layout = chrome.execute_script(_LAYOUT_SCRIPT, ARTICLE)
    if layout["missing"]:
        report.problems.append(f"no {ARTICLE} on the page")
        return report
    if layout["overflow"] > 1:
        report.problems.append(f"the content overflows by {layout['overflow']} px")
    report.problems += layout["sticking_out"]
    report.problems += [f"image not loaded: {src}" for src in layout["broken_images"]]
    report.problems += [f"image without a description (alt text: none or its file name): {src}"
                        for src in layout["unlabelled_images"]]
    report.problems += [f"image not in a figure with a caption: {src}"
                        for src in layout["uncaptioned_images"]]
    report.problems += _console_errors(chrome)
    for pattern, what in FORBIDDEN_OUTPUT:
        for match in pattern.finditer(layout["outputs"]):
            start = max(0, match.start() - 40)
            report.problems.append(f"shows {what}: ...{layout['outputs'][start:match.end() + 40]}")
    if screenshots is not None:
        name = re.sub(r"[^\w.-]+", "_", page.removesuffix(".html")) + ".png"
        report.screenshot = screenshots / name
        _screenshot(chrome, layout["height"], report.screenshot)
    return report


def check_search(chrome, url: str) -> PageReport:
    """Sphinx's search page must find the course's main tool."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    report = PageReport(f"search.html?q={SEARCH_WORD}")
    chrome.get(f"{url}/search.html?q={SEARCH_WORD}")
    try:
        WebDriverWait(chrome, 20).until(
            lambda c: c.find_elements(By.CSS_SELECTOR, "#search-results li")
        )
    except Exception:  # selenium's TimeoutException: nothing was found in time
        report.problems.append(f"the search finds nothing for {SEARCH_WORD!r}")
    return report


def book_pages(html: Path) -> list[str]:
    """The pages of the book (not Sphinx's generated index and search pages)."""
    skip = {"search.html", "genindex.html", "index.html"}
    return sorted(
        p.relative_to(html).as_posix()
        for p in html.rglob("*.html")
        if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts
    )


def check_book(html: Path, screenshots: Path | None = None) -> list[PageReport]:
    """Every page of the built book in Chromium, and the search page."""
    html = Path(html)
    if not (html / "search.html").is_file():
        raise FileNotFoundError(f"{html} holds no built book: run make book first")
    server, url = _serve(html)
    chrome = browser()
    try:
        reports = [check_page(chrome, url, page, screenshots) for page in book_pages(html)]
        reports.append(check_search(chrome, url))
    finally:
        chrome.quit()
        server.shutdown()
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pages", description=__doc__)
    parser.add_argument("html", type=Path, help="the built book (_build/html)")
    parser.add_argument("--screenshots", type=Path, default=None,
                        help="folder for a screenshot of every page (default: beside html)")
    args = parser.parse_args(argv)
    screenshots = args.screenshots or args.html.parent / "screenshots"
    reports = check_book(args.html, screenshots)
    for report in reports:
        print(f"{'ok  ' if not report.problems else 'FAIL'} {report.page}")
        for problem in report.problems:
            print(f"       {problem}")
    failed = [r for r in reports if r.problems]
    print(f"{len(reports) - len(failed)} of {len(reports)} pages OK; screenshots in {screenshots}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
