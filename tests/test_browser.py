"""The headless-Chromium page checker of tests/browser.py, on small hand-written pages.

Skipped, with the reason, only where Chromium cannot be installed (not root, no apt-get);
one browser for the whole module.
"""

from __future__ import annotations

import struct
from pathlib import Path

import browser as browser_module
import pytest
from browser import Browser, ChromiumUnavailable, PageCheck, ensure_chromium, open_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium.webdriver.common.selenium_manager import SeleniumManager
    except ImportError:
        SeleniumManager = None  # noqa: N806 - Browser() below raises ChromiumUnavailable
    with pytest.MonkeyPatch.context() as mp:
        if SeleniumManager is not None:
            # Nothing may be downloaded: selenium-manager must not even be asked.
            def refuse(*args, **kwargs):
                raise AssertionError("selenium-manager was run")

            mp.setattr(SeleniumManager, "binary_paths", refuse)
        try:
            b = Browser()
        except ChromiumUnavailable as exc:
            pytest.skip(f"no headless Chromium here: {exc}")
    with b:
        yield b


def page(tmp_path: Path, body: str, name: str = "page.html", head: str = "") -> Path:
    path = tmp_path / name
    path.write_text(
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>t</title>{head}'
        f"</head>\n<body>{body}</body></html>\n",
        encoding="utf-8",
    )
    return path


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def check(browser: Browser, tmp_path: Path, body: str, **kwargs) -> PageCheck:
    return open_report(page(tmp_path, body, head=kwargs.pop("head", "")),
                       tmp_path / "shot.png", browser=browser, **kwargs)


CLEAN = """
<header><h1>Campaign 42</h1></header>
<main>
<section id="overview"><h2>Overview</h2>
<table id="kv"><tr><th>runs</th><td>12</td></tr><tr><th>metrics</th><td>acc, f1</td></tr></table>
</section>
<section id="metrics"><h2>Metrics</h2><h3>acc   on
 test-human</h3>
<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200" viewBox="0 0 320 200">
<rect x="10" y="10" width="100" height="150" fill="#24415f"/></svg>
<h4>not a heading we list</h4>
</section>
<details id="files"><summary>Files</summary><p>metrics.csv</p></details>
<section><p>a section without an id</p></section>
</main>
"""


def test_clean_page(browser, tmp_path):
    got = check(browser, tmp_path, CLEAN)
    assert got.console_errors == []
    assert got.horizontal_overflow == 0
    assert got.scroll_width == got.inner_width == got.width == 1280
    assert got.height == 900
    assert got.overflowing == []
    assert got.section_ids == ["overview", "metrics"]
    assert got.details_ids == ["files"]
    assert got.details_open == []
    assert got.headings == [(1, "Campaign 42"), (2, "Overview"), (2, "Metrics"),
                            (3, "acc on test-human")]
    assert (got.svg_count, got.svg_zero_size) == (1, 0)
    assert (got.img_count, got.img_zero_size, got.img_broken) == (0, 0, 0)
    assert got.has_script is False
    assert got.resources == []
    assert got.url == (tmp_path / "page.html").resolve().as_uri()
    assert png_size(got.screenshot) == (1280, 900)  # shorter than the window: the window
    assert "console errors: 0" in got.summary()


def test_wide_table_overflows(browser, tmp_path):
    cells = "".join(f"<td>cell {i}</td>" for i in range(5))
    got = check(browser, tmp_path, f"""
        <h1>Wide</h1>
        <table id="wide" style="width:3000px"><tr><th>Header with some long text</th>{cells}</tr>
        </table>
        <div style="overflow-x:auto"><table class="ok scrolled" style="width:3000px">
        <tr><td>inside a scrolling box</td></tr></table></div>""")
    assert got.horizontal_overflow >= 3000 - 1280
    assert got.scroll_width > got.inner_width
    assert [(e.tag, e.ident) for e in got.overflowing] == [("table", "#wide")]
    wide = got.overflowing[0]
    assert wide.text == "Header with some long text cell 0 cell 1"
    assert wide.width >= 3000 and wide.beyond >= 3000 - 1280
    assert "#wide" in str(wide) and "3000px wide" in str(wide)
    assert got.console_errors == []


def test_scrolled_table_does_not_overflow(browser, tmp_path):
    got = check(browser, tmp_path, """
        <div style="overflow-x:scroll"><table style="width:3000px"><tr><td>x</td></tr></table>
        </div>""")
    assert got.horizontal_overflow == 0
    assert got.overflowing == []


def test_narrow_window_figure_overflows(browser, tmp_path):
    body = ('<figure class="fig main"><svg width="600" height="100"><rect width="600" '
            'height="100"/></svg><figcaption>A wide figure</figcaption></figure>')
    wide = check(browser, tmp_path, body)
    assert wide.overflowing == [] and wide.horizontal_overflow == 0
    narrow = check(browser, tmp_path, body, width=400, height=300)
    assert narrow.inner_width == 400 and narrow.height == 300
    assert narrow.horizontal_overflow > 0
    # the figure box fits the window; what sticks out is the svg in it
    [svg] = narrow.overflowing
    assert (svg.tag, svg.ident, svg.container, svg.width) == ("svg", "", "figure.fig.main", 600)
    assert "in <figure.fig.main>" in str(svg)
    assert png_size(narrow.screenshot)[0] == 400


def test_outermost_overflowing_element_only(browser, tmp_path):
    got = check(browser, tmp_path, """
        <section id="s"><figure id="f" style="width:2000px"><table style="width:1900px">
        <tr><td>in the figure</td></tr></table><svg width="1900" height="10"></svg></figure>
        </section>""")
    assert [(e.tag, e.ident, e.container) for e in got.overflowing] == [
        ("figure", "#f", "section#s")
    ]


def test_script_error_is_a_console_error(browser, tmp_path):
    got = check(browser, tmp_path, """
        <p>before</p>
        <script>console.log("just a log line"); throw new Error("boom from the report");</script>
        """)
    assert got.has_script is True
    assert len(got.console_errors) == 1
    assert "Uncaught Error: boom from the report" in got.console_errors[0]


def test_console_error_and_missing_image(browser, tmp_path):
    got = check(browser, tmp_path, """
        <img id="gone" src="missing.png" alt="">
        <script>console.error("explicit console.error")</script>""")
    assert got.img_count == 1 and got.img_broken == 1
    assert any("missing.png" in e for e in got.console_errors)
    assert any("explicit console.error" in e for e in got.console_errors)
    assert got.resources == [(tmp_path / "missing.png").resolve().as_uri()]


def test_errors_do_not_leak_into_the_next_page(browser, tmp_path):
    bad = check(browser, tmp_path, "<script>throw new Error('first page')</script>")
    assert bad.console_errors
    good = check(browser, tmp_path, "<p>second page</p>")
    assert good.console_errors == []


def test_svgs_counted_and_zero_size(browser, tmp_path):
    got = check(browser, tmp_path, """
        <svg width="100" height="50"><circle cx="25" cy="25" r="20"/></svg>
        <svg viewBox="0 0 10 10"><rect width="10" height="10"/></svg>
        <svg width="0" height="0"></svg>
        <div style="display:none"><svg width="10" height="10"></svg></div>
        <img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
             width="20" height="20" alt="">""")
    assert (got.svg_count, got.svg_zero_size) == (4, 2)
    assert (got.img_count, got.img_zero_size, got.img_broken) == (1, 0, 0)
    assert got.console_errors == []
    assert got.resources == []  # data: URLs load nothing


def test_details_expanded_or_not(browser, tmp_path):
    body = """
        <details id="closed"><summary>Figures</summary>
        <svg width="2000" height="40"><rect width="2000" height="40"/></svg></details>
        <details id="opened" open><summary>Notes</summary><p>n</p></details>"""
    expanded = check(browser, tmp_path, body)
    assert expanded.details_ids == ["closed", "opened"]
    assert expanded.details_open == ["opened"]
    assert expanded.svg_zero_size == 0
    assert [e.tag for e in expanded.overflowing] == ["svg"]
    as_loaded = check(browser, tmp_path, body, expand_details=False)
    assert as_loaded.svg_zero_size == 1
    assert as_loaded.overflowing == [] and as_loaded.horizontal_overflow == 0


def test_full_page_screenshot(browser, tmp_path):
    got = check(browser, tmp_path, '<div style="height:3000px;background:#24415f">tall</div>',
                head="<style>body{margin:0}</style>")
    assert got.document_height == 3000
    assert png_size(got.screenshot) == (1280, 3000)
    # measured in the window asked for, not in the screenshot's
    assert got.height == 900
    again = check(browser, tmp_path, "<p>short</p>")
    assert again.height == 900 and png_size(again.screenshot) == (1280, 900)


def test_missing_file(browser, tmp_path):
    with pytest.raises(FileNotFoundError):
        open_report(tmp_path / "nope.html", tmp_path / "shot.png", browser=browser)


def test_remote_resources_listed(browser, tmp_path):
    # port 9 is one Chromium refuses at once: no request leaves the machine
    got = check(browser, tmp_path, '<img src="http://127.0.0.1:9/x.png" alt="">',
                head='<link rel="stylesheet" href="http://127.0.0.1:9/x.css">')
    assert sorted(got.resources) == ["http://127.0.0.1:9/x.css", "http://127.0.0.1:9/x.png"]
    assert len(got.console_errors) == 2


def test_unavailable_is_one_line_reason(monkeypatch):
    monkeypatch.setattr(browser_module, "_install_problem",
                        lambda: "install_chromium: installing them needs root")
    with pytest.raises(ChromiumUnavailable, match="^install_chromium: installing them needs root$"):
        ensure_chromium()
