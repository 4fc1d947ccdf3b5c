"""Open a rendered report in a real headless Chromium and look at it as a person would.

    from browser import ChromiumUnavailable, open_report

    try:
        page = open_report(out / "report.html", tmp_path / "report.png")
    except ChromiumUnavailable as exc:
        pytest.skip(str(exc))
    assert page.console_errors == []
    assert page.horizontal_overflow == 0, page.overflowing

``open_report`` starts a browser and quits it afterwards; to check several pages, share one
``Browser`` (about 1 s to start, then a fraction of a second a page), e.g. from a
module-scoped fixture::

    @pytest.fixture(scope="module")
    def browser():
        try:
            with Browser() as b:
                yield b
        except ChromiumUnavailable as exc:
            pytest.skip(str(exc))

    def test_x(browser, tmp_path):
        page = browser.open_report(path, tmp_path / "shot.png")

Chromium and chromedriver are Debian's (/usr/bin/chromium, /usr/bin/chromedriver), put there
by scripts/install_chromium.sh, which the first ``Browser`` of a session runs once. Nothing
is downloaded from anywhere else: selenium is given both paths, so selenium-manager is never
run. Needs the test-only dependency ``selenium``.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
INSTALL_SCRIPT = PROJECT / "scripts" / "install_chromium.sh"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
MAX_SCREENSHOT_HEIGHT = 20000  # px; longer pages are cut at the bottom of the screenshot
PAGE_LOAD_TIMEOUT = 60  # s

CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",  # innerWidth == clientWidth, and screenshots without scrollbars
    "--force-device-scale-factor=1",
    "--lang=en-US",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--mute-audio",
)


class ChromiumUnavailable(RuntimeError):
    """Chromium, chromedriver or selenium is missing and cannot be installed here.

    ``str(exc)`` is a one-line reason, meant for ``pytest.skip``.
    """


@functools.cache
def _install_problem() -> str | None:
    """Run scripts/install_chromium.sh once per process; its one-line reason if it failed."""
    try:
        done = subprocess.run(
            ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {INSTALL_SCRIPT.name}: {exc}"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return lines[-1] if lines else f"{INSTALL_SCRIPT.name} exited {done.returncode}"
    return None


def ensure_chromium() -> None:
    """Make sure Chromium, chromedriver and selenium are usable, or raise ChromiumUnavailable."""
    try:
        import selenium  # noqa: F401
    except ImportError as exc:
        raise ChromiumUnavailable(
            "selenium is not installed (a test-only dependency: pip install 'selenium>=4.20')"
        ) from exc
    problem = _install_problem()
    if problem:
        raise ChromiumUnavailable(problem)
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            raise ChromiumUnavailable(f"{path} is missing after {INSTALL_SCRIPT.name}")


@dataclass(frozen=True)
class OverflowingElement:
    """A table/figure/svg/img/pre that sticks out of the viewport, with no scrolling box."""

    tag: str
    ident: str  # "#id", or ".class1.class2", or ""
    text: str  # first 40 characters of its text, whitespace collapsed
    width: int  # rendered width, px
    beyond: int  # how far it sticks out past the viewport's edges, px
    container: str = ""  # nearest ancestor with an id or class, e.g. "figure.figs"

    def __str__(self) -> str:
        text = f" {self.text!r}" if self.text else ""
        where = f" in <{self.container}>" if self.container else ""
        return (f"<{self.tag}{self.ident}>{text}{where}: {self.width}px wide, "
                f"{self.beyond}px outside the window")


@dataclass
class PageCheck:
    """What a person would see on one page, measured at the given window size."""

    url: str
    screenshot: Path
    width: int  # the viewport (window.innerWidth) the page was laid out in, px
    height: int  # the viewport's height, px
    document_height: int  # scrollHeight, px
    console_errors: list[str]  # browser log entries of level SEVERE (JS errors, failed loads)
    scroll_width: int  # document.documentElement.scrollWidth, px
    inner_width: int  # window.innerWidth, px
    overflowing: list[OverflowingElement]
    section_ids: list[str]  # ids of the <section> elements that have one, in document order
    details_ids: list[str]  # likewise for <details>
    details_open: list[str]  # ids of the <details> that were open when the page loaded
    headings: list[tuple[int, str]]  # (level, text) of h1-h3 in document order
    svg_count: int
    svg_zero_size: int  # <svg> not rendered (display:none, closed <details>) or 0 px wide/high
    img_count: int
    img_zero_size: int
    img_broken: int  # <img> that did not load (naturalWidth 0)
    has_script: bool  # any <script> element
    # URLs the page loads besides itself (a self-contained report has none): network fetches,
    # and the src/href of elements that load something (img, script, link, svg image/use, ...;
    # not <a> links, not data: URLs). CSS url() of local files is not seen.
    resources: list[str] = field(default_factory=list)

    @property
    def horizontal_overflow(self) -> int:
        """How many px the page scrolls sideways (scrollWidth - innerWidth), 0 if it doesn't."""
        return max(0, self.scroll_width - self.inner_width)

    def summary(self) -> str:
        """A few lines for an assertion message or a report."""
        lines = [
            f"{self.url} at {self.width}x{self.height} (document {self.document_height}px high)",
            f"console errors: {len(self.console_errors)}",
            *(f"  {e}" for e in self.console_errors),
            f"horizontal overflow: {self.horizontal_overflow}px "
            f"(scrollWidth {self.scroll_width}, innerWidth {self.inner_width})",
            *(f"  {e}" for e in self.overflowing),
            f"sections: {self.section_ids}; details: {self.details_ids}",
            f"headings: {len(self.headings)}; svg: {self.svg_count} "
            f"({self.svg_zero_size} zero size); img: {self.img_count} "
            f"({self.img_zero_size} zero size, {self.img_broken} broken); "
            f"script: {self.has_script}; resources loaded: {len(self.resources)}",
            f"screenshot: {self.screenshot}",
        ]
        return "\n".join(lines)


# Runs in the page; returns everything PageCheck holds but the console log.
_MEASURE_JS = r"""
const expand = arguments[0];
const doc = document.documentElement;
const ids = (sel) => Array.from(document.querySelectorAll(sel)).map(e => e.id).filter(Boolean);
const detailsOpen = ids('details[open]');
if (expand) document.querySelectorAll('details:not([open])').forEach(d => { d.open = true; });
const clean = (s) => (s || '').replace(/\s+/g, ' ').trim();
const text = (e) => clean(e.innerText !== undefined ? e.innerText : e.textContent);
// Not rendered (display:none, inside a closed <details>, ...) or of zero width or height.
const zero = (e) => {
  if (!e.checkVisibility()) return true;
  const r = e.getBoundingClientRect();
  return r.width === 0 || r.height === 0;
};
const ident = (e) => {
  if (e.id) return '#' + e.id;
  const cls = typeof e.className === 'string' ? e.className : (e.className.baseVal || '');
  return cls.trim().split(/\s+/).filter(Boolean).map(c => '.' + c).join('');
};
const scrolls = (e) => {
  for (let a = e.parentElement; a && a !== document.body && a !== doc; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX;
    if (o === 'auto' || o === 'scroll') return true;
  }
  return false;
};
const container = (e) => {
  for (let a = e.parentElement; a && a !== document.body && a !== doc; a = a.parentElement) {
    const i = ident(a);
    if (i) return a.tagName.toLowerCase() + i;
  }
  return '';
};
const viewport = doc.clientWidth;
const overflowing = [];
const flagged = [];
for (const e of document.querySelectorAll('table, figure, svg, img, pre')) {
  if (flagged.some(f => f.contains(e)) || !e.checkVisibility()) continue;
  const r = e.getBoundingClientRect();
  if (r.width === 0) continue;
  const beyond = Math.max(0, r.right - viewport) + Math.max(0, -r.left);
  if (beyond < 1 || scrolls(e)) continue;
  flagged.push(e);
  overflowing.push({
    tag: e.tagName.toLowerCase(),
    ident: ident(e),
    text: text(e).slice(0, 40),
    width: Math.round(r.width),
    beyond: Math.round(beyond),
    container: container(e),
  });
}
// What the page loads besides itself: network fetches (Resource Timing, which does not list
// file:// loads) and the URLs of the elements that load something (not <a> links).
const page = location.href.split('#')[0];
const refs = new Set(performance.getEntriesByType('resource').map(r => r.name));
const loaders = 'img[src], script[src], iframe[src], embed[src], source[src], video[src], '
  + 'audio[src], track[src], input[src], video[poster]';
for (const e of document.querySelectorAll(loaders)) {
  if (e.src) refs.add(e.src);
  if (e.poster) refs.add(e.poster);
}
for (const e of document.querySelectorAll('link[href]')) {
  if (/stylesheet|icon|preload|import|manifest/i.test(e.rel)) refs.add(e.href);
}
for (const e of document.querySelectorAll('object[data]')) refs.add(e.data);
for (const e of document.querySelectorAll('image, use, feImage')) {
  const h = e.getAttribute('href') || e.getAttribute('xlink:href');
  if (h && !h.startsWith('#')) refs.add(new URL(h, document.baseURI).href);
}
const resources = Array.from(refs).filter(u => u && !/^(data|blob|about|javascript):/.test(u)
  && u.split('#')[0] !== page);
const svgs = Array.from(document.querySelectorAll('svg'));
const imgs = Array.from(document.querySelectorAll('img'));
return {
  scroll_width: doc.scrollWidth,
  inner_width: window.innerWidth,
  height: window.innerHeight,
  document_height: Math.max(doc.scrollHeight, document.body ? document.body.scrollHeight : 0),
  overflowing: overflowing,
  section_ids: ids('section'),
  details_ids: ids('details'),
  details_open: detailsOpen,
  headings: Array.from(document.querySelectorAll('h1, h2, h3'))
    .map(h => [Number(h.tagName[1]), text(h)]),
  svg_count: svgs.length,
  svg_zero_size: svgs.filter(zero).length,
  img_count: imgs.length,
  img_zero_size: imgs.filter(zero).length,
  img_broken: imgs.filter(i => i.complete && i.naturalWidth === 0).length,
  has_script: document.querySelector('script') !== null,
  resources: resources,
};
"""


class Browser:
    """One headless Chromium (via chromedriver) for any number of ``open_report`` calls."""

    def __init__(self) -> None:
        ensure_chromium()
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for arg in CHROMIUM_ARGS:
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # An explicit driver path: selenium does not run selenium-manager (no downloads).
        service = Service(executable_path=str(CHROMEDRIVER), log_output=subprocess.DEVNULL)
        self.driver: Any = webdriver.Chrome(options=options, service=service)
        self.driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self.driver is not None:
            self.driver.quit()
            self.driver = None

    def _viewport(self, width: int, height: int) -> None:
        # Exact inner size (set_window_size would size the outer window, chrome included).
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def open_report(
        self, html_path: Path, screenshot: Path, width: int = 1280, height: int = 900,
        *, expand_details: bool = True,
    ) -> PageCheck:
        """Load ``html_path`` in a width x height viewport, measure it, save a full-page PNG.

        With ``expand_details`` every closed <details> is opened (as a reader would) before
        the sizes are measured and the screenshot taken, so that collapsed content is checked
        too; ``details_open`` still tells which were open as loaded.
        """
        if self.driver is None:
            raise RuntimeError("this Browser is closed")
        html_path = Path(html_path).resolve()
        if not html_path.is_file():
            raise FileNotFoundError(html_path)
        driver = self.driver
        driver.get_log("browser")  # drop what earlier pages logged
        self._viewport(width, height)
        url = html_path.as_uri()
        driver.get(url)
        found = driver.execute_script(_MEASURE_JS, expand_details)
        errors = [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]

        screenshot = Path(screenshot)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        full = min(max(found["document_height"], height), MAX_SCREENSHOT_HEIGHT)
        self._viewport(width, full)
        try:
            if not driver.save_screenshot(str(screenshot)):
                raise RuntimeError(f"chromium could not save a screenshot to {screenshot}")
        finally:
            self._viewport(width, height)

        return PageCheck(
            url=url,
            screenshot=screenshot,
            width=width,
            height=found["height"],
            document_height=found["document_height"],
            console_errors=errors,
            scroll_width=found["scroll_width"],
            inner_width=found["inner_width"],
            overflowing=[OverflowingElement(**e) for e in found["overflowing"]],
            section_ids=found["section_ids"],
            details_ids=found["details_ids"],
            details_open=found["details_open"],
            headings=[(int(level), text) for level, text in found["headings"]],
            svg_count=found["svg_count"],
            svg_zero_size=found["svg_zero_size"],
            img_count=found["img_count"],
            img_zero_size=found["img_zero_size"],
            img_broken=found["img_broken"],
            has_script=found["has_script"],
            resources=found["resources"],
        )


def open_report(
    html_path: Path, screenshot: Path, width: int = 1280, height: int = 900,
    *, browser: Browser | None = None, expand_details: bool = True,
) -> PageCheck:
    """Check one page; in a ``browser`` if given, else in a new one that is quit afterwards.

    Raises ChromiumUnavailable (with a one-line reason) where Chromium cannot be installed.
    """
    if browser is not None:
        return browser.open_report(html_path, screenshot, width, height,
                                   expand_details=expand_details)
    with Browser() as own:
        return own.open_report(html_path, screenshot, width, height,
                               expand_details=expand_details)
