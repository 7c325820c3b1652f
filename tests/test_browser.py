"""The built book in a real browser: headless Chromium opens pages served from a loopback HTTP server,
and the pages must render without JavaScript errors or missing local files. Screenshots are saved in
the build folder (screenshots/NAME.png).

Failures to reach external hosts (the MathJax CDN, offline here) are not page errors; errors of the
page's own scripts and files are. Set GENRE_SIGNATURES_BOOK_RUN=runs/smoke-dev to use a finished run
instead of the session's smoke run."""

from __future__ import annotations

import functools
import html
import json
import re
import shutil
import subprocess
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import serving

PAGES = {"intro": "intro.html", "notebook07": "notebooks/07_attention_listening.html",
         "claims": "claims.html"}
INTERACTIVE = {"notebook05": "notebooks/05_pca.html", "notebook07": "notebooks/07_attention_listening.html"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]
CONSOLE = re.compile(r':CONSOLE[:(]\d*\)?\] "(?P<message>.*)", source: (?P<source>\S*)')


def find_chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    """Chromium's path; the test skips without it (`make chromium` installs Debian's package where
    it can, and `make test` runs that first)."""
    found = find_chromium()
    if not found:
        pytest.skip("chromium is missing: run `make chromium` (installs Debian's chromium as root), "
                    "or install it with your package manager, to run the browser tests")
    return found


@pytest.fixture(scope="module")
def site(book) -> Path:
    """The HTML folder of the session's book (conftest `book`)."""
    return book


class _QuietHandler(SimpleHTTPRequestHandler):
    failures: list[str]

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def send_error(self, code, message=None, explain=None):
        if self.path != "/favicon.ico":  # the browser asks for it on its own; the book links none
            self.failures.append(f"{code} {self.path}")
        super().send_error(code, message, explain)


@pytest.fixture(scope="module")
def server(site):
    """(base URL, list of failed requests) of a loopback HTTP server of the site, in a thread."""
    failures: list[str] = []
    handler = type("Handler", (_QuietHandler,), {"failures": failures})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    with serving(httpd) as url:
        yield url, failures


def open_page(chromium: str, url: str, *extra: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=120)


def page_errors(log: str, base_url: str) -> list[str]:
    """Console errors of the page itself: uncaught exceptions and failed loads of its own files."""
    errors = []
    for match in CONSOLE.finditer(log):
        message, source = match["message"], match["source"]
        own = source.startswith(base_url)
        if message.startswith("Uncaught") and own:
            errors.append(f"{message} ({source})")
        elif "Failed to load resource" in message and own:
            errors.append(f"{message} ({source})")
    return errors


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_without_errors(name, chromium, site, server, tmp_path):
    base_url, failures = server
    failures.clear()
    url = f"{base_url}/{PAGES[name]}"
    loaded = open_page(chromium, url, "--dump-dom", "--virtual-time-budget=5000",
                       profile=tmp_path / "profile-dom")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    dom = loaded.stdout
    assert "bd-article" in dom and "</html>" in dom, f"{name}: the page did not render"
    errors = page_errors(loaded.stderr, base_url)
    assert not errors, f"{name}: JavaScript errors {errors}"
    assert not failures, f"requests the server could not answer: {failures}"
    if name == "notebook07":
        assert "<audio" in dom and "data:audio/mpeg;base64," in dom
        assert "Provenance of this page" in dom
    if name == "claims":
        assert "does not hold" in dom or "holds" in dom

    shots = site.parent.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    shot = shots / f"{name}.png"
    taken = open_page(chromium, url, f"--screenshot={shot}", "--window-size=1280,2000",
                      "--hide-scrollbars", profile=tmp_path / "profile-shot")
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    assert shot.stat().st_size > 20_000, f"{name}: the screenshot looks blank"
    assert not page_errors(taken.stderr, base_url)


def page_requests(net_log: Path, base_url: str) -> set[str]:
    """The URLs of the requests the page itself made (Chromium's net log; the browser's own
    update and account checks are not the page's)."""
    origin = base_url.rstrip("/")
    events = json.loads(net_log.read_text())["events"]
    return {e["params"]["url"] for e in events
            if "url" in e.get("params", {}) and e["params"].get("initiator") == origin}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["notebook05", "notebook07"])
def test_interactive_figures_render_from_the_books_own_files(name, chromium, server, tmp_path):
    """plotly figures draw (legend and axes exist only once plotly.js ran)."""
    base_url, failures = server
    failures.clear()
    loaded = open_page(chromium, f"{base_url}/{INTERACTIVE[name]}", "--dump-dom",
                       "--virtual-time-budget=8000", profile=tmp_path / "profile")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert not page_errors(loaded.stderr, base_url) and not failures
    dom = loaded.stdout
    assert dom.count('class="main-svg"') >= 2, f"{name}: no plotly figure was drawn"
    if name == "notebook05":
        assert "gl-container" in dom and dom.count('class="legendtext"') >= 10  # the 3D scene, a genre each
    else:
        assert dom.count('class="plotly-graph-div') >= 10 and "occlusion" in dom


# Opens every page of the book in turn in a 1280 px wide frame, waits for it to settle, and records
# what runs off the right edge of the article: a code block that does not wrap, a table that neither
# fits nor scrolls in its own box (an ancestor with overflow-x auto or scroll that fits), and whether
# the page's formulas were typeset. The results land in <pre id="results"> for --dump-dom.
LAYOUT_CHECK = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>layout check</title></head>
<body><pre id="results"></pre><script>
const pages = PAGES;
function measure(doc) {
  const article = doc.querySelector("article.bd-article") || doc.body;
  const edge = article.getBoundingClientRect().right + 1;
  const overflowing = [];
  for (const el of article.querySelectorAll("pre, table")) {
    const rect = el.getBoundingClientRect();
    if (!rect.width) continue;
    let box = el.parentElement, scrolls = false;
    for (; box && box !== article.parentElement; box = box.parentElement) {
      const style = doc.defaultView.getComputedStyle(box).overflowX;
      if (style === "auto" || style === "scroll") { scrolls = box.getBoundingClientRect().right <= edge; break; }
    }
    const hidden = el.tagName === "PRE" && el.scrollWidth > el.clientWidth + 1;
    if ((rect.right > edge && !scrolls) || hidden)
      overflowing.push(el.tagName + " " + el.textContent.trim().slice(0, 60));
  }
  const formulas = article.querySelectorAll(".math").length;
  const typeset = article.querySelectorAll("script[type^='math/tex']").length;
  return {overflowing, formulas, typeset};
}
async function main() {
  const results = {};
  for (const page of pages) {
    results[page] = await new Promise(resolve => {
      const frame = document.createElement("iframe");
      frame.style.width = "1280px"; frame.style.height = "900px";
      frame.onload = () => setTimeout(() => {
        try { resolve(measure(frame.contentDocument)); } catch (e) { resolve({error: String(e)}); }
        frame.remove();
      }, 3000);
      frame.src = page;
      document.body.appendChild(frame);
    });
  }
  document.getElementById("results").textContent = JSON.stringify(results);
}
main();
</script></body></html>"""


@pytest.mark.slow
def test_every_page_fits_a_laptop_and_loads_nothing_from_the_network(chromium, site, tmp_path):
    """Every page of the book, in a 1280 px frame: no request leaves the book (Chromium's net log;
    every host but 127.0.0.1 is unresolvable, so a CDN would show as a request, not a download),
    formulas are typeset by the book's own MathJax, code wraps and wide tables scroll on their own."""
    pages = sorted(p.relative_to(site).as_posix() for p in [*site.glob("*.html"), *site.glob("notebooks/*.html")]
                   if p.name not in ("search.html", "genindex.html"))
    assert len(pages) >= 17, pages
    check = tmp_path / "layout_check.html"
    handler = type("Handler", (_QuietHandler,), {"failures": []})

    class WithCheck(handler):  # the site, plus the checking page at /__layout_check__.html
        def translate_path(self, path):
            return str(check) if path.startswith("/__layout_check__") else super().translate_path(path)

    check.write_text(LAYOUT_CHECK.replace("PAGES", json.dumps(["/" + p for p in pages])))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(WithCheck, directory=str(site)))
    net_log = tmp_path / "net.json"
    with serving(httpd) as base_url:
        loaded = open_page(chromium, f"{base_url}/__layout_check__.html", "--dump-dom",
                           f"--virtual-time-budget={12000 * len(pages)}", f"--log-net-log={net_log}",
                           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                           profile=tmp_path / "profile")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    outside = sorted(u for u in page_requests(net_log, base_url) if not u.startswith(base_url))
    assert not outside, f"requests outside the book: {outside}"
    assert not handler.failures, f"requests the server could not answer: {handler.failures}"
    match = re.search(r'<pre id="results">(.*?)</pre>', loaded.stdout, re.S)
    assert match and match[1], "the checking page did not finish"
    results = json.loads(html.unescape(match[1]))
    assert sorted(results) == ["/" + p for p in pages]
    assert not [p for p, r in results.items() if "error" in r], results
    overflowing = {p: r["overflowing"] for p, r in results.items() if r["overflowing"]}
    assert not overflowing, f"wider than a 1280 px window, without scrolling on their own: {overflowing}"
    untypeset = {p: r for p, r in results.items() if r["formulas"] and not r["typeset"]}
    assert not untypeset, f"formulas MathJax did not typeset: {untypeset}"
    assert any(r["typeset"] for r in results.values()), "no page had a formula to check"
