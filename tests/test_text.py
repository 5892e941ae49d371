"""Markdown sanitising and dates in the reader's words."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest

from server.humanize import long_date, relative
from server.markdown import render_markdown


class _Elements(HTMLParser):
    """Collects the elements and attributes a browser would actually build."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += attrs


NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (dt.timedelta(days=3), "in 3 days"),
        (dt.timedelta(days=-2, hours=-1), "2 days ago"),
        (dt.timedelta(hours=2), "in 2 hours"),
        (dt.timedelta(days=1, hours=1), "tomorrow"),
        (dt.timedelta(days=-1, hours=-1), "yesterday"),
        (dt.timedelta(seconds=20), "now"),
        (dt.timedelta(days=14), "in 2 weeks"),
        (dt.timedelta(days=95), "in 3 months"),
        (dt.timedelta(minutes=1), "in 1 minute"),
    ],
)
def test_relative_dates(delta: dt.timedelta, words: str) -> None:
    assert relative(NOW + delta, NOW) == words


def test_long_date_reads_naturally() -> None:
    assert long_date(dt.datetime(2026, 12, 5, 10, 0)) == "Saturday 5 December 2026, 10:00"


def test_markdown_keeps_formatting() -> None:
    html = str(render_markdown("**bold** and [a link](https://example.org)\n\n- one\n- two"))
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.org" rel="nofollow noopener ugc">a link</a>' in html
    assert "<li>one</li>" in html


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        "<iframe src='https://evil.example'></iframe>",
        '<a href="#" onclick="alert(1)">x</a>',
    ],
)
def test_markdown_strips_anything_executable(hostile: str) -> None:
    parser = _Elements()
    parser.feed(str(render_markdown(hostile)))
    assert parser.tags <= {"p", "a"}, parser.tags
    for name, value in parser.attributes:
        assert not name.startswith("on"), name
        assert not (value or "").strip().lower().startswith("javascript:"), value
