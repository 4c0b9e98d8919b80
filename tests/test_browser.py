"""The rendered book, opened page by page in headless Chromium (Playwright).

The HTML book is built once per test run (the session fixture `html_dir` in
conftest.py), served by a stdlib `http.server` on 127.0.0.1 and every page of
_toc.yml (plus the index redirect and the references page) is opened in Chromium
with every request to a host other than 127.0.0.1 aborted. Each page must:

- load every <img> (complete, naturalWidth > 0);
- typeset every math element with the book's own MathJax (an `mjx-container` in
  each `.math` element, no MathJax error), without any request to a remote host;
- show no Python traceback and no error or stderr output box;
- on a lesson page, offer the Colab launch link for its notebook in the repository
  named by pyproject's [project.urls] Repository;
- have every internal link answer HTTP 200, and every internal #fragment name an
  id on its target page.

A full-page screenshot of each page is saved under _build/screenshots/ in the
repository root (e.g. _build/screenshots/lessons/01_high_dimensions.png).

Chromium comes from Debian (`apt-get install chromium`, /usr/bin/chromium); no
browser is ever downloaded. Without it the tests are skipped with that message.
Playwright's Python package is a declared test dependency: missing, it fails.
"""

from __future__ import annotations

import functools
import re
import shutil
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest
from book_pages import colab_link as book_colab_link, toc_entries


try:
    from playwright.sync_api import sync_playwright
except ModuleNotFoundError:  # reported as a failure by the `browser` fixture
    sync_playwright = None

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOST = "127.0.0.1"
TIMEOUT_MS = 60_000
# JavaScript errors that come from the toolchain, not from the book, and break nothing:
# jupyter-book 1.0.4 on Sphinx 7.4 emits sphinx-thebe's inline config script twice
# (`const THEBE_JS_URL = ...`), so the second copy throws. Thebe is off in _config.yml.
KNOWN_JS_ERRORS = (
    re.compile(r"^Identifier 'THEBE_JS_URL' has already been declared$"),
)
ERROR_BOX_SELECTOR = (
    '[class*="output_error"], [class*="stderr"], [class*="traceback"], [class*="output_traceback"]'
)


def toc_pages() -> list[str]:
    """Every document of _toc.yml (path without extension, relative to the root)."""
    return toc_entries()


def book_pages() -> list[str]:
    """The HTML pages to open, relative to the HTML root."""
    pages = ["index.html"] + [f"{p}.html" for p in toc_pages()]
    if "book/references.html" not in pages:
        pages.append("book/references.html")
    return list(dict.fromkeys(pages))


PAGES = book_pages()


def expected_colab_link(page: str) -> str:
    return book_colab_link(Path(page).stem)


class IdParser(HTMLParser):
    """The ids (and <a name=...>) a page offers as #fragment targets."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])


class MathParser(HTMLParser):
    """Counts the elements Sphinx marks as math in the page source."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if "math" in classes:
            self.count += 1


# --------------------------------------------------------------------------- serving
class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


@pytest.fixture(scope="session")
def site(html_dir):
    """The built book served over HTTP on 127.0.0.1 (a free port, in a thread)."""
    handler = functools.partial(QuietHandler, directory=str(html_dir))
    server = ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="book-http", daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --------------------------------------------------------------------------- browser
@pytest.fixture(scope="session")
def browser():
    if sync_playwright is None:
        pytest.fail(
            "the `playwright` Python package is missing; it is a declared test dependency "
            "(pyproject's `test` extra): run `python3 tasks.py test`, which installs it"
        )
    if not CHROMIUM.exists():
        pytest.skip(
            f"the browser test needs Debian's Chromium at {CHROMIUM}: install it with "
            "`apt-get install chromium` (Debian; no browser is downloaded by the tests)"
        )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


@dataclass
class PageReport:
    page: str
    final_url: str = ""
    static_math: int = 0
    mathjax_loaded: bool = False
    mathjax_error: str = ""
    math_elements: int = 0
    untypeset_math: list[str] = field(default_factory=list)
    mjx_containers: int = 0
    mjx_errors: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    error_boxes: list[str] = field(default_factory=list)
    has_traceback: bool = False
    links: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    screenshot: Path | None = None


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    return parsed.hostname == LOCAL_HOST


WAIT_FOR_IMAGES = """
async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) { img.loading = "eager"; }
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(resolve => {
    img.addEventListener("load", resolve, {once: true});
    img.addEventListener("error", resolve, {once: true});
  })));
  return imgs.map(img => ({src: img.currentSrc || img.src, complete: img.complete,
                           naturalWidth: img.naturalWidth}));
}
"""

WAIT_FOR_MATHJAX = """
async () => {
  if (!window.MathJax || !window.MathJax.startup || !window.MathJax.startup.promise) {
    return "MathJax did not start";
  }
  try { await window.MathJax.startup.promise; } catch (e) { return "MathJax failed: " + e; }
  return "";
}
"""

MATH_STATE = """
() => {
  const math = Array.from(document.querySelectorAll(".math"));
  return {
    count: math.length,
    untypeset: math.filter(el => !el.querySelector("mjx-container"))
                   .map(el => el.textContent.trim().slice(0, 80)),
    containers: document.querySelectorAll("mjx-container").length,
    errors: Array.from(document.querySelectorAll("mjx-merror"))
                 .map(el => (el.getAttribute("data-mjx-error") || el.textContent).slice(0, 120)),
  };
}
"""


@pytest.fixture(scope="session")
def visit(browser, site, html_dir, screenshot_dir):
    """Open a page once (cached): wait for images and MathJax, screenshot, gather facts."""
    reports: dict[str, PageReport] = {}

    def _visit(page: str) -> PageReport:
        if page in reports:
            return reports[page]
        report = PageReport(page=page)
        source = html_dir / page
        assert source.exists(), f"the build has no page {page}"
        parser = MathParser()
        parser.feed(source.read_text(encoding="utf-8"))
        report.static_math = parser.count

        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            def route(r):
                if is_local(r.request.url):
                    r.continue_()
                else:
                    report.blocked.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            tab = context.new_page()
            tab.set_default_timeout(TIMEOUT_MS)
            tab.on("pageerror", lambda exc: report.page_errors.append(str(exc)))
            tab.goto(site + page, wait_until="load")
            if page == "index.html":  # a <meta http-equiv="Refresh"> redirect
                tab.wait_for_url(lambda url: not url.endswith("/index.html") and url != site)
                tab.wait_for_load_state("load")
            report.final_url = tab.url
            report.mathjax_loaded = bool(tab.evaluate("() => !!document.querySelector("
                                                      "'script[src*=\"mathjax\" i]')"))
            if report.mathjax_loaded:
                report.mathjax_error = tab.evaluate(WAIT_FOR_MATHJAX)
            report.images = tab.evaluate(WAIT_FOR_IMAGES)
            math = tab.evaluate(MATH_STATE)
            report.math_elements = math["count"]
            report.untypeset_math = math["untypeset"]
            report.mjx_containers = math["containers"]
            report.mjx_errors = math["errors"]
            report.error_boxes = tab.eval_on_selector_all(
                ERROR_BOX_SELECTOR,
                "els => els.map(el => el.className + ': ' + el.textContent.trim().slice(0, 200))",
            )
            report.has_traceback = "Traceback (most recent call last)" in tab.inner_text("body")
            report.links = tab.eval_on_selector_all(
                "a[href], link[href]", "els => els.map(el => el.href)"
            )
            shot = screenshot_dir / Path(page).with_suffix(".png")
            shot.parent.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(shot), full_page=True)
            report.screenshot = shot
        finally:
            context.close()
        reports[page] = report
        return report

    return _visit


# --------------------------------------------------------------------------- link checks
@pytest.fixture(scope="session")
def fetch():
    """HTTP status and body of a local URL, each distinct URL fetched once (urllib)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    cache: dict[str, tuple[int, bytes]] = {}

    def _fetch(url: str) -> tuple[int, bytes]:
        if url not in cache:
            try:
                with opener.open(url, timeout=30) as response:
                    cache[url] = (response.status, response.read())
            except urllib.error.HTTPError as err:
                cache[url] = (err.code, b"")
                err.close()
            except OSError as err:
                cache[url] = (0, str(err).encode())
        return cache[url]

    return _fetch


@functools.lru_cache(maxsize=None)
def ids_of(body: bytes) -> frozenset[str]:
    parser = IdParser()
    parser.feed(body.decode("utf-8", errors="replace"))
    return frozenset(parser.ids)


# --------------------------------------------------------------------------- tests
def test_pages_cover_the_toc():
    assert "index.html" in PAGES and "book/references.html" in PAGES
    assert any(p.startswith("lessons/") for p in PAGES), "no lesson page in _toc.yml"


@pytest.mark.parametrize("page", PAGES)
def test_index_redirects_and_page_loads(visit, site, page):
    report = visit(page)
    if page == "index.html":
        assert report.final_url != site + "index.html", "index.html does not redirect"
        target = report.final_url.removeprefix(site)
        assert target == f"{toc_pages()[0]}.html", (
            f"index.html redirects to {target}, not the toc root {toc_pages()[0]}"
        )
    else:
        assert report.final_url == site + page
    errors = [e for e in report.page_errors if not any(k.search(e) for k in KNOWN_JS_ERRORS)]
    assert not errors, f"{page}: JavaScript errors:\n  " + "\n  ".join(errors)
    assert report.screenshot and report.screenshot.stat().st_size > 0


@pytest.mark.parametrize("page", PAGES)
def test_images_load(visit, page):
    report = visit(page)
    broken = [img["src"] for img in report.images
              if not img["complete"] or img["naturalWidth"] <= 0]
    assert not broken, f"{page}: images that did not load:\n  " + "\n  ".join(broken)


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset_offline(visit, page):
    report = visit(page)
    mathjax_remote = [u for u in report.blocked if "mathjax" in u.lower()]
    assert not mathjax_remote, (
        f"{page}: MathJax asked for remote resources (blocked):\n  " + "\n  ".join(mathjax_remote)
    )
    if report.static_math == 0 and report.math_elements == 0:
        return  # no math on this page (index.html's math is the redirect target's)
    assert report.mathjax_loaded, f"{page} has math but loads no MathJax"
    assert not report.mathjax_error, f"{page}: {report.mathjax_error}"
    assert report.mjx_containers > 0, f"{page}: MathJax produced no mjx-container"
    assert not report.untypeset_math, (
        f"{page}: math left untypeset:\n  " + "\n  ".join(report.untypeset_math)
    )
    assert not report.mjx_errors, f"{page}: TeX errors:\n  " + "\n  ".join(report.mjx_errors)


@pytest.mark.parametrize("page", PAGES)
def test_no_error_output(visit, page):
    report = visit(page)
    assert not report.has_traceback, f"{page} shows a Python traceback"
    assert not report.error_boxes, f"{page} shows error/stderr output:\n  " + "\n  ".join(
        report.error_boxes
    )


LESSON_PAGES = [p for p in PAGES if p.startswith("lessons/")]


@pytest.mark.parametrize("page", LESSON_PAGES)
def test_lesson_colab_link(visit, page):
    report = visit(page)
    expected = expected_colab_link(page)
    colab = sorted({u for u in report.links if "colab.research.google.com" in u})
    assert expected in colab, f"{page}: no Colab launch link {expected}; found {colab}"


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(visit, fetch, site, page):
    report = visit(page)
    problems = []
    for link in sorted(set(report.links)):
        if not link.startswith(site):
            continue
        url, fragment = urldefrag(link)
        status, body = fetch(url)
        if status != 200:
            problems.append(f"{link}: HTTP {status or body.decode(errors='replace')}")
        elif fragment and url.endswith(".html") and unquote(fragment) not in ids_of(body):
            problems.append(f"{link}: no element with id {unquote(fragment)!r} on its page")
    assert not problems, f"{page}: broken internal links:\n  " + "\n  ".join(problems)
