"""paperlib.data.download against a loopback HTTP server (127.0.0.1) and file:// URLs: never the network."""

from __future__ import annotations

import errno
import hashlib
import io
import socket
import tarfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from paperlib.cli import main
from paperlib.data import download as dl
from tests.conftest import METADATA, serving


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _noise(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


GENRES = {f"genres/{g}/{g}.0000{i}.au": _noise(6000, 10 * k + i)
          for k, g in enumerate(("blues", "jazz")) for i in range(2)}


class _Handler(SimpleHTTPRequestHandler):
    """Serves the server's folder; honours `Range: bytes=N-` with 206 unless `ignore_range`."""

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self.server.ranges.append(self.headers.get("Range"))
        path = Path(self.server.root) / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        header = self.headers.get("Range")
        if header and not self.server.ignore_range:
            start = int(header.removeprefix("bytes=").rstrip("-"))
            body = data[start:]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            body = data
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.server.cut_once:  # promise the whole body, send half, hang up
            self.server.cut_once = False
            body = body[: len(body) // 2]
            self.close_connection = True
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path):
    """(base URL, server) of a loopback server over tmp_path/"www"; shut down after the test."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.root, httpd.ranges, httpd.ignore_range, httpd.cut_once = root, [], False, False
    with serving(httpd) as url:
        yield url + "/", httpd


@pytest.fixture
def archive(server):
    """The served test archive: (url, bytes)."""
    base, httpd = server
    data = _tar_gz(GENRES)
    (httpd.root / "genres.tar.gz").write_bytes(data)
    return base + "genres.tar.gz", data


def _closed_port_url(name: str = "genres.tar.gz") -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


def test_download_verifies_and_fetch_gtzan_extracts(tmp_path, archive):
    url, data = archive
    out = dl.fetch_gtzan(tmp_path / "gtzan", urls=[url], sha256=_sha(data), size=len(data),
                         progress=False, timeout=5)
    assert out == tmp_path / "gtzan"
    for name, content in GENRES.items():
        assert (out / name).read_bytes() == content
    assert (out / "genres.tar.gz").read_bytes() == data
    assert not list(out.glob("*.part")) and not list(out.glob(".*extracting*"))
    # Already extracted: nothing is fetched again, even from a dead mirror.
    assert dl.fetch_gtzan(out, urls=[_closed_port_url()], sha256=_sha(data), timeout=5) == out


def test_verified_archive_is_not_downloaded_again(tmp_path, archive, server):
    url, data = archive
    dest = tmp_path / "a" / "genres.tar.gz"
    dl.download([url], dest, sha256=_sha(data), progress=False, timeout=5)
    requests = len(server[1].ranges)
    assert dl.download([url], dest, sha256=_sha(data), progress=False, timeout=5) == dest
    assert len(server[1].ranges) == requests


def test_a_download_waits_for_another_process_and_takes_its_file(tmp_path, archive, server):
    """Sweep members on one machine share the cache: while another process holds the file's lock
    a download waits, then finds the file placed and verified and fetches nothing."""
    import fcntl
    import threading

    url, data = archive
    dest = tmp_path / "shared" / "genres.tar.gz"
    dest.parent.mkdir()
    got = []
    with open(dest.with_name(dest.name + ".lock"), "a") as lock:  # the other process
        fcntl.flock(lock, fcntl.LOCK_EX)
        waiting = threading.Thread(target=lambda: got.append(
            dl.download([url], dest, sha256=_sha(data), progress=False, timeout=5)))
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive() and not server[1].ranges, "the download did not wait for the lock"
        dest.write_bytes(data)
        fcntl.flock(lock, fcntl.LOCK_UN)
    waiting.join(timeout=30)
    assert got == [dest] and not server[1].ranges


def test_corrupted_archive_fails_its_checksum_and_is_kept_aside(tmp_path, archive):
    url, data = archive
    dest = tmp_path / "genres.tar.gz"
    wrong = _sha(data + b"x")
    with pytest.raises(dl.DownloadError, match="Checksum mismatch") as err:
        dl.download([url], dest, sha256=wrong, progress=False, timeout=5)
    bad = tmp_path / "genres.tar.gz.bad"
    assert str(bad) in str(err.value) and wrong in str(err.value)
    assert bad.read_bytes() == data
    assert not dest.exists() and not (tmp_path / "genres.tar.gz.part").exists()


def test_truncated_download_resumes_with_a_range_request(tmp_path, archive, server):
    url, data = archive
    dest = tmp_path / "genres.tar.gz"
    half = len(data) // 2
    (tmp_path / "genres.tar.gz.part").write_bytes(data[:half])
    dl.download([url], dest, sha256=_sha(data), size=len(data), progress=False, timeout=5)
    assert server[1].ranges == [f"bytes={half}-"]
    assert dest.read_bytes() == data


def test_a_transfer_cut_midway_is_resumed_from_the_next_url(tmp_path, archive, server):
    url, data = archive
    server[1].cut_once = True
    dest = tmp_path / "genres.tar.gz"
    dl.download([url, url], dest, sha256=_sha(data), progress=False, timeout=5)
    assert server[1].ranges == [None, f"bytes={len(data) // 2}-"]
    assert dest.read_bytes() == data


def test_a_server_ignoring_range_gives_a_fresh_download(tmp_path, archive, server):
    url, data = archive
    server[1].ignore_range = True
    dest = tmp_path / "genres.tar.gz"
    (tmp_path / "genres.tar.gz.part").write_bytes(b"garbage that is not the start")
    dl.download([url], dest, sha256=_sha(data), progress=False, timeout=5)
    assert server[1].ranges == ["bytes=29-"]
    assert dest.read_bytes() == data


def test_a_dead_mirror_is_skipped_for_the_next(tmp_path, archive):
    url, data = archive
    dest = tmp_path / "genres.tar.gz"
    dl.download([_closed_port_url(), url[:-3] + "missing", url], dest, sha256=_sha(data),
                progress=False, timeout=5)
    assert dest.read_bytes() == data


def test_all_mirrors_unreachable_gives_one_message_listing_each(tmp_path):
    urls = [_closed_port_url(), _closed_port_url("other.tar.gz")]
    dest = tmp_path / "genres.tar.gz"
    with pytest.raises(dl.DownloadError) as err:
        dl.download(urls, dest, sha256="ab" * 32, size=123, progress=False, timeout=5)
    message = str(err.value)
    assert all(url in message for url in urls)
    assert "by hand" in message and str(dest) in message and "ab" * 32 in message
    assert not dest.exists()


def test_disk_full_keeps_the_partial_file(tmp_path, archive, monkeypatch):
    url, data = archive
    calls = []

    def full_disk(out, chunk):
        if calls:
            raise OSError(errno.ENOSPC, "No space left on device")
        calls.append(1)
        out.write(chunk)

    monkeypatch.setattr(dl, "CHUNK", 1024)
    monkeypatch.setattr(dl, "_write", full_disk)
    dest = tmp_path / "genres.tar.gz"
    with pytest.raises(dl.DownloadError, match="disk is full") as err:
        dl.download([url], dest, sha256=_sha(data), progress=False, timeout=5)
    part = tmp_path / "genres.tar.gz.part"
    assert str(part) in str(err.value) and "kept" in str(err.value)
    assert part.read_bytes() == data[:1024]
    assert not dest.exists()


@pytest.mark.parametrize("evil", ["../evil", "/tmp/paperlib-abs-evil", "genres/../../evil"])
def test_escaping_members_are_refused_and_nothing_is_extracted(tmp_path, evil):
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(_tar_gz({"genres/blues/blues.00000.au": b"ok", evil: b"pwned"}))
    dest = tmp_path / "out" / "gtzan"
    dest.parent.mkdir()
    with pytest.raises(dl.DownloadError, match="Refusing") as err:
        dl.safe_extract(archive, dest)
    assert repr(evil) in str(err.value)
    assert not dest.exists() and list((tmp_path / "out").iterdir()) == []
    assert not (tmp_path / "evil").exists() and not (tmp_path / "out" / "evil").exists()
    assert not Path("/tmp/paperlib-abs-evil").exists()


@pytest.mark.parametrize("kind,target", [(tarfile.SYMTYPE, "../../outside"),
                                         (tarfile.SYMTYPE, "/etc/passwd"),
                                         (tarfile.LNKTYPE, "../outside")])
def test_links_leading_outside_are_refused(tmp_path, kind, target):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("genres/link")
        link.type, link.linkname = kind, target
        tar.addfile(link)
    archive = tmp_path / "links.tar.gz"
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(dl.DownloadError, match="pointing outside"):
        dl.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_link_inside_is_extracted(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("genres/a.au")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
        link = tarfile.TarInfo("genres/sub/b.au")
        link.type, link.linkname = tarfile.SYMTYPE, "../a.au"
        tar.addfile(link)
    archive = tmp_path / "ok.tar.gz"
    archive.write_bytes(buffer.getvalue())
    out = dl.safe_extract(archive, tmp_path / "out")
    assert (out / "genres" / "sub" / "b.au").read_bytes() == b"hi"


def test_a_damaged_archive_is_a_clear_error(tmp_path):
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(_tar_gz(GENRES)[:500])
    with pytest.raises(dl.DownloadError, match="Cannot extract"):
        dl.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_metadata_constants_match_sources():
    sources = METADATA / "SOURCES.md"
    if not sources.is_file():
        pytest.skip(f"{sources} is absent")
    text = sources.read_text()
    for name, (url, sha) in dl.METADATA.items():
        assert url.startswith("https://raw.githubusercontent.com/") and url.endswith("/" + name)
        assert sha in text
    assert dl.GTZAN_SHA256 in text and f"{dl.GTZAN_SIZE:,}" in text
    assert dl.GTZAN_URLS[0] == ("https://huggingface.co/datasets/marsyas/gtzan/resolve/main/"
                                "data/genres.tar.gz")


@pytest.fixture
def metadata_mirror():
    folder = METADATA
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    return folder


def test_metadata_from_a_file_url_is_verified(tmp_path, metadata_mirror):
    got = dl.fetch_metadata(tmp_path / "meta", base_url=metadata_mirror.as_uri())
    assert sorted(got) == sorted(dl.METADATA)
    for name, path in got.items():
        assert path.read_bytes() == (metadata_mirror / name).read_bytes()
        assert dl.sha256_of(path) == dl.METADATA[name][1]
    assert len(got["train_filtered.txt"].read_text().splitlines()) == 443


def test_metadata_with_a_wrong_checksum_is_refused(tmp_path, metadata_mirror, monkeypatch):
    url, _ = dl.METADATA["GTZANindex.txt"]
    monkeypatch.setitem(dl.METADATA, "GTZANindex.txt", (url, "0" * 64))
    with pytest.raises(dl.DownloadError, match="Checksum mismatch.*GTZANindex.txt"):
        dl.fetch_metadata(tmp_path / "meta", base_url=metadata_mirror.as_uri() + "/")
    assert (tmp_path / "meta" / "GTZANindex.txt.bad").is_file()
    assert not (tmp_path / "meta" / "GTZANindex.txt").exists()


def test_metadata_over_http(tmp_path, server, metadata_mirror):
    base, httpd = server
    for name in dl.METADATA:
        (httpd.root / name).write_bytes((metadata_mirror / name).read_bytes())
    got = dl.fetch_metadata(tmp_path / "meta", base_url=base, timeout=5)
    assert all(path.is_file() for path in got.values())


def test_bad_inputs_are_value_errors(tmp_path):
    with pytest.raises(ValueError, match="at least one URL"):
        dl.download([], tmp_path / "x", sha256="ab" * 32)
    with pytest.raises(ValueError, match="64 hex digits"):
        dl.download(["file:///nope"], tmp_path / "x", sha256="abc")
    with pytest.raises(ValueError, match="base_url"):
        dl.fetch_metadata(tmp_path, base_url="ftp://host/")


def test_cli_fetch_gtzan_unreachable_mirror_exits_2(tmp_path, capsys):
    url = _closed_port_url()
    assert main(["fetch", "gtzan", "--dest", str(tmp_path / "g"), "--mirror", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Could not download genres.tar.gz") and url in err
    assert dl.GTZAN_SHA256 in err


def test_cli_fetch_metadata(tmp_path, capsys, metadata_mirror):
    assert main(["fetch", "metadata", "--dest", str(tmp_path / "m"),
                 "--base-url", metadata_mirror.as_uri()]) == 0
    assert "GTZANindex.txt" in capsys.readouterr().out
