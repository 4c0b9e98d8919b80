"""The book builds with every warning as an error, from the stored notebooks only.

`jupyter-book build` runs once per test run into a temporary directory (the
session fixture `html_dir` in conftest.py, shared with test_browser.py; the config
says execute_notebooks: "off", so nothing is executed). Every lesson page must exist,
show at least one figure from the notebook's stored outputs and offer Colab, and no
page may load MathJax from a remote URL (it is served from the book's _static).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest


ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(ROOT.joinpath("lessons").glob("*.md"))


class PageParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        elif tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        elif tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def is_remote(src: str) -> bool:
    return src.startswith("//") or urlparse(src).scheme in ("http", "https")


def test_book_builds(html_dir):
    assert (html_dir / "book" / "intro.html").exists()
    for page in ("how_to_use", "notation", "references"):
        assert (html_dir / "book" / f"{page}.html").exists(), f"missing page book/{page}.html"


def test_there_are_lesson_pages(html_dir):
    assert LESSONS, "no lessons: a book without chapters is broken"


@pytest.mark.parametrize("md", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_page_shows_stored_figures(html_dir, md):
    page = html_dir / "lessons" / f"{md.stem}.html"
    assert page.exists(), f"the book has no page for {md.name} (is it in _toc.yml?)"
    nb = json.loads(md.with_suffix(".ipynb").read_text(encoding="utf-8"))
    stored_images = [
        o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
        if any(k.startswith("image/") for k in o.get("data", {}))
    ]
    assert stored_images, f"{md.with_suffix('.ipynb').name} stores no figure"
    images = [src for src in parse(page).images if "_images/" in src and not is_remote(src)]
    assert images, f"{page.name} shows no image from the notebook's outputs"
    for src in images:
        target = (page.parent / urlparse(src).path).resolve()
        assert target.exists(), f"{page.name} refers to a missing image {src}"


@pytest.mark.parametrize("md", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_page_opens_in_colab(html_dir, md, colab_link):
    expected = colab_link(md.stem)
    links = parse(html_dir / "lessons" / f"{md.stem}.html").links
    assert expected in links, f"{md.stem}.html has no Colab link {expected}"


def test_mathjax_is_served_locally(html_dir):
    remote, local = [], []
    for page in sorted(html_dir.rglob("*.html")):
        for src in parse(page).scripts:
            if "mathjax" not in src.lower():
                continue
            rel = page.relative_to(html_dir)
            if is_remote(src):
                remote.append(f"{rel}: {src}")
            else:
                local.append((page, src))
    assert not remote, "pages load MathJax from a remote URL:\n  " + "\n  ".join(remote)
    assert local, "no page loads MathJax at all (book/notation has math)"
    for page, src in local:
        target = (page.parent / urlparse(src).path).resolve()
        assert target.exists(), f"{page.name} loads MathJax from {src}, which is not in the build"
