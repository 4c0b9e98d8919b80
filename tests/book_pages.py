"""The book's pages and links, as the tests need them at import time (for parametrize).

The one walker of _toc.yml and the one place the Colab link is derived from the
repository URL (pyproject's [project.urls] Repository). conftest.py wraps them as fixtures.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml


ROOT = Path(__file__).resolve().parents[1]


def repository_url() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def colab_link(lesson: str) -> str:
    """The Colab URL that opens lessons/<lesson>.ipynb from the repository's main branch."""
    github = re.sub(r"^https://github\.com/", "", repository_url()).rstrip("/")
    return f"https://colab.research.google.com/github/{github}/blob/main/lessons/{lesson}.ipynb"


def toc_entries() -> list[str]:
    """Every page of _toc.yml (root, then chapters in order), without extension."""
    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    yield re.sub(r"\.(md|ipynb)$", "", value)
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    with open(ROOT / "_toc.yml", encoding="utf-8") as f:
        return list(walk(yaml.safe_load(f)))
