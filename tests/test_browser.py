"""The built book in a real browser: headless Chromium opens pages served from a loopback HTTP server,
and the pages must render without JavaScript errors or missing local files. Screenshots are saved in
the build folder (screenshots/NAME.png).

Failures to reach external hosts (the MathJax CDN, offline here) are not page errors; errors of the
page's own scripts and files are. Set GENRE_SIGNATURES_BOOK_RUN=runs/smoke-dev to use a finished run
instead of the session's smoke run."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from paperlib.core import paths
from paperlib.publish.book import build_book
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
    """Chromium's path; installed with apt-get (Debian's `chromium`) when missing, else skip."""
    found = find_chromium()
    if found:
        return found
    if not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.skip("chromium is missing and cannot be installed here (needs apt-get as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
        except subprocess.TimeoutExpired:
            pytest.skip(f"`{' '.join(command)}` took over 15 minutes")
        if result.returncode != 0:
            pytest.skip(f"`{' '.join(command)}` failed: {(result.stderr or result.stdout)[-500:]}")
    found = find_chromium()
    if not found:
        pytest.skip("apt-get installed chromium but no chromium executable was found")
    return found


@pytest.fixture(scope="module")
def site(request, tmp_path_factory) -> Path:
    """The HTML folder of a freshly built book (of GENRE_SIGNATURES_BOOK_RUN or the smoke run)."""
    given = os.environ.get("GENRE_SIGNATURES_BOOK_RUN")
    run_dir = paths.resolve(given) if given else request.getfixturevalue("smoke_run")[0]
    return build_book(run_dir, build_dir=tmp_path_factory.mktemp("browser") / "build").parent


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
@pytest.mark.parametrize("name", ["notebook05", "notebook07", "intro"])
def test_interactive_figures_render_from_the_books_own_files(name, chromium, server, tmp_path):
    """plotly figures draw (legend and axes exist only once plotly.js ran) and the page asks
    nothing of any other host; the intro, whose MathJax comes from a CDN, shows the check bites."""
    base_url, failures = server
    failures.clear()
    url = f"{base_url}/{INTERACTIVE[name] if name in INTERACTIVE else PAGES[name]}"
    net_log = tmp_path / "net.json"
    loaded = open_page(chromium, url, "--dump-dom", "--virtual-time-budget=8000", f"--log-net-log={net_log}",
                       "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                       profile=tmp_path / "profile")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    outside = sorted(u for u in page_requests(net_log, base_url) if not u.startswith(base_url))
    if name == "intro":
        assert any("mathjax" in u for u in outside), "the request check missed the MathJax CDN"
        return
    assert not outside, f"{name}: requests outside the book: {outside}"
    assert not page_errors(loaded.stderr, base_url) and not failures
    dom = loaded.stdout
    assert dom.count('class="main-svg"') >= 2, f"{name}: no plotly figure was drawn"
    if name == "notebook05":
        assert "gl-container" in dom and dom.count('class="legendtext"') >= 10  # the 3D scene, a genre each
    else:
        assert dom.count('class="plotly-graph-div') >= 10 and "occlusion" in dom
