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

import tool_modules


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


# --------------------------------------------------------------------------- the book for students
def _coursework():
    return tool_modules.load("coursework")


def _plain(text: str) -> str:
    """Text as a reader sees it, whitespace and typographic quotes normalized."""
    for fancy, plain in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(fancy, plain)
    return " ".join(text.split())


def _page_text(path: Path) -> str:
    import html
    import re

    return _plain(html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8"))))


def _notebook_text(path: Path) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in notebook["cells"]:
        parts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", "")))
    return _plain("\n".join(parts))


def _output_text(output: dict) -> str:
    data = output.get("data", {})
    return "".join(output.get("text", "")) + "".join(data.get("text/plain", "")) + "".join(data.get("text/html", ""))


def _lesson_parts(coursework, stem: str) -> tuple[list[str], list[str]]:
    """(what the student book may show, what it must not) of a lesson: its solutions, checks and
    the printed values of its exercises' examples are secret; the rest is public."""
    lesson, start, _ = coursework.read_lesson(stem)
    stored = {"".join(c["source"]).strip(): [_output_text(o) for o in c.get("outputs", [])]
              for c in json.loads((ROOT / "lessons" / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]}
    secret, public, inside = [], [], False
    for index, cell in enumerate(lesson.cells):
        source = cell.source.strip()
        outputs = stored.get(source, []) if cell.cell_type == "code" else []
        if index < start:
            public += [source, *outputs]
        elif cell.cell_type == "markdown" and (coursework.SOLUTION_START.match(source) or coursework.SOLUTION_END.match(source)):
            inside = bool(coursework.SOLUTION_START.match(source))
        elif inside or cell.get("metadata", {}).get("grader"):
            secret.append(source)
        else:  # the exercise's text and its example's code are public; the example's printed values are not
            public.append(source)
            secret += outputs
    return public, secret


def _solution_lines(coursework) -> dict[str, set[str]]:
    """Per lesson, the lines only its solutions, checks and example outputs hold, and no public
    text of any lesson (`batch_size=64)` is in a chapter's text too): what the student book must
    not show."""
    parts = {md.stem: _lesson_parts(coursework, md.stem) for md in LESSONS}
    public = _plain("\n".join(text for public, _ in parts.values() for text in public))
    found = {}
    for stem, (_, secret) in parts.items():
        lines = {_plain(line) for text in secret for line in text.splitlines()}
        found[stem] = {line for line in lines if len(line) >= 16 and line not in public}
    return found


@pytest.fixture(scope="module")
def student_html(tmp_path_factory) -> Path:
    """The book for students, as `tools/coursework.py book` builds it (a few seconds)."""
    return _coursework().student_book(tmp_path_factory.mktemp("student-book"))


def test_the_student_book_shows_no_solution(student_html, html_dir):
    coursework = _coursework()
    pages = {path: _page_text(path) for path in student_html.rglob("*.html")}
    pages.update({path: _notebook_text(path) for path in student_html.rglob("*.ipynb")})  # the download button's
    assert any(path.suffix == ".ipynb" for path in pages), "the student book offers no notebook: what does it serve?"
    solution_lines = _solution_lines(coursework)
    for md in LESSONS:
        secrets = solution_lines[md.stem]
        assert len(secrets) >= 10, f"{md.stem}: too few solution lines to look for: {sorted(secrets)}"
        # The detector finds them where they are: in the book with solutions.
        main_page = _page_text(html_dir / "lessons" / f"{md.stem}.html")
        assert sum(secret in main_page for secret in secrets) >= 3, md.stem
        shown = {f"{path.relative_to(student_html)}: {secret}" for path, text in pages.items()
                 for secret in secrets if secret in text}
        assert not shown, f"solution text in the student book:\n  " + "\n  ".join(sorted(shown)[:10])


@pytest.mark.parametrize("md", LESSONS, ids=[p.stem for p in LESSONS])
def test_the_student_book_keeps_the_exercises(student_html, md):
    coursework = _coursework()
    page = (student_html / "lessons" / f"{md.stem}.html").read_text(encoding="utf-8")
    text = _page_text(student_html / "lessons" / f"{md.stem}.html")
    for exercise in coursework.read_chapter(md.stem).exercises:
        assert _plain(exercise.title) in text, exercise.title
    assert 'class="solution' not in page and "Solution to" not in text
    assert "colab.research.google.com" not in page, "the student book links to the notebooks with solutions"
