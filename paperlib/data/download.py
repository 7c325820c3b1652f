"""Downloading GTZAN, its metadata and its feature table: mirrors tried in order, resumable `.part` files, SHA-256
verification, and a tar extraction that refuses members escaping the destination.

Every download goes to `<dest>.part` (resumed with an HTTP Range request when one is there), is
verified, and only then renamed to `<dest>`; a file failing its checksum is moved aside to
`<dest>.bad` (never used, never deleted). `file://` URLs work too (local mirrors and tests).
"""

from __future__ import annotations

import errno
import fcntl
import http.client
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterable, Iterator

from paperlib.core.files import sha256_of

CHUNK = 1 << 20
TIMEOUT = 60.0
USER_AGENT = "paperlib-download/1 (genre-signatures)"

GTZAN_URLS = (
    "https://huggingface.co/datasets/marsyas/gtzan/resolve/main/data/genres.tar.gz",
    "http://opihi.cs.uvic.ca/sound/genres.tar.gz",
)
GTZAN_SHA256 = "24347e0223d2ba798e0a558c4c172d9d4a19c00bb7963fe055d183dadb4ef2c6"
GTZAN_SIZE = 1_225_571_541
GTZAN_ARCHIVE = "genres.tar.gz"

_RAW = "https://raw.githubusercontent.com"
_SPLIT = f"{_RAW}/coreyker/dnn-mgr/bdad579ea6cb37b665ea6019fe1026a6ce20cbc7/gtzan"
_SPLIT_COPY = f"{_RAW}/jongpillee/music_dataset_split/07e855758f180ac8bdc0e3abebbde19277094681/GTZAN_split"
_INDEX = (f"{_RAW}/seungheondoh/gtzan-bind/ba33dc7309afa49ef6b5176300531a9bbde2ad1f"
          "/dataset/metadata/sturm2013faults")

METADATA: dict[str, tuple[str, str]] = {
    "train_filtered.txt": (f"{_SPLIT}/train_filtered.txt",
                           "2b04966cef1486f1a7767b74271533fa23e220388db804a1937835e1fc4fa3fa"),
    "valid_filtered.txt": (f"{_SPLIT}/valid_filtered.txt",
                           "f8fbee7c52397a0e0f3a91dc54fedecb2e27f5bdc9a9daeab8cb10d077e26956"),
    "test_filtered.txt": (f"{_SPLIT}/test_filtered.txt",
                          "09cafa6a89ce0a27f30ed250d56ecb4d03c22fffb5a693f96c7ae655ee02ac72"),
    "GTZANindex.txt": (f"{_INDEX}/GTZANindex.txt",
                       "7bc7140f082cccd72046ec7c6e9b9c211a7491f6e7ede38fddafc63058559833"),
}
"""File name -> (pinned raw URL, SHA-256)."""

METADATA_COPIES: dict[str, tuple[str, ...]] = {
    name: (f"{_SPLIT_COPY}/{name}",) for name in ("train_filtered.txt", "valid_filtered.txt",
                                                 "test_filtered.txt")
}
"""Identical pinned copies, tried after the METADATA URL."""

FEATURES_FILE = "features_30_sec.csv"
FEATURES_URLS = (
    f"{_RAW}/WASN-Data/MLDeploy/17ebc5e0de1aff13674648ad82ff6b7e0683d5bf/data/features_30_sec_original.csv",
    # the same bytes as a Git LFS object: its media URL
    "https://media.githubusercontent.com/media/Jyve00/MIR/b7bf2a77e49245f352b062a12ad1bad520580bb9"
    "/Data/features_30_sec.csv",
)
FEATURES_SHA256 = "3fb2e38c281764076c7c1ec79f9e73956a913cffaa38e44cfb94282291e72cfa"
FEATURES_SIZE = 1_108_271
"""Kaggle's GTZAN feature table (librosa statistics of the 1000 clips): pinned copies, SHA-256, bytes."""


class DownloadError(RuntimeError):
    """A download or extraction that cannot be trusted or completed: it says what and what to do."""


class _SourceError(Exception):
    """One URL failed (connection, HTTP status, interrupted transfer): try the next one."""


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _write(out: BinaryIO, chunk: bytes) -> None:
    """One write to the `.part` file (a seam for tests that simulate a full disk)."""
    out.write(chunk)


def _read(response, size: int) -> bytes:
    try:
        return response.read(size)
    except (OSError, http.client.HTTPException) as exc:
        raise _SourceError(f"transfer interrupted: {exc!r}") from exc


def _open(url: str, offset: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            return None  # nothing left to send: the `.part` is complete (the checksum decides)
        raise _SourceError(f"HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _SourceError(f"{type(exc).__name__}: {reason}") from exc


def _fetch_one(url: str, part: Path, *, size: int | None, progress: bool, timeout: float) -> None:
    """Fill `part` from `url`, resuming it when the server honours Range; `_SourceError` on failure."""
    from tqdm.auto import tqdm

    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    if size is not None and offset == size:
        return
    response = _open(url, offset, timeout)
    if response is None:
        return
    with response:
        status = response.getcode()  # None for file:// (which ignores Range)
        if offset and status == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                raise _SourceError(f"asked for bytes {offset}- but got Content-Range {content_range!r}")
        elif offset:
            offset = 0  # the server ignored Range: start again
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        total = offset + length if length is not None else size
        received = 0
        try:
            with open(part, "ab" if offset else "wb") as out, tqdm(
                    total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                    desc=part.name.removesuffix(".part"), disable=not progress, leave=False) as bar:
                while chunk := _read(response, CHUNK):
                    _write(out, chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        except OSError as exc:
            kept = part.stat().st_size if part.exists() else 0
            full = " (the disk is full)" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
            raise DownloadError(
                f"Writing {part} failed{full}: {exc}. The partial file ({kept} bytes) is kept: free "
                f"some space (or fix the error) and run again, and the download resumes from it."
            ) from exc
    if length is not None and received < length:
        raise _SourceError(f"connection closed after {received} of {length} bytes")


def download(urls: Iterable[str], dest: Path, *, sha256: str, size: int | None = None,
             progress: bool = True, timeout: float = TIMEOUT) -> Path:
    """Download `dest` from the first URL that answers, resuming `<dest>.part`; verify its SHA-256
    and rename it into place. An existing verified `dest` is returned as is."""
    urls = [urls] if isinstance(urls, str) else list(urls)
    if not urls:
        raise ValueError("download() needs at least one URL, got none.")
    sha256 = sha256.lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}.")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _only_one_process(dest):  # sweep members on one machine share the cache
        return _download_here(urls, dest, sha256=sha256, size=size, progress=progress, timeout=timeout)


@contextmanager
def _only_one_process(dest: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<dest>.lock` (others wait, then find `dest` verified)."""
    with open(_sibling(dest, ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _download_here(urls: list[str], dest: Path, *, sha256: str, size: int | None, progress: bool,
                   timeout: float) -> Path:
    if dest.exists():
        actual = sha256_of(dest)
        if actual == sha256:
            return dest
        raise DownloadError(f"{dest} exists but its SHA-256 is {actual}, expected {sha256}. "
                            f"Delete or replace it, then run again.")
    part = _sibling(dest, ".part")
    failures = []
    for url in urls:
        try:
            _fetch_one(url, part, size=size, progress=progress, timeout=timeout)
        except _SourceError as exc:
            failures.append(f"  {url}: {exc}")
            continue
        return _verify_and_place(part, dest, url=url, sha256=sha256, size=size)
    expected = f"size {size} bytes, " if size is not None else ""
    raise DownloadError(
        f"Could not download {dest.name} from any of {len(urls)} URL(s):\n" + "\n".join(failures)
        + f"\nTo place it by hand, download {dest.name} yourself and put it at {dest} "
          f"({expected}SHA-256 {sha256}); it is verified and used on the next run.")


def _verify_and_place(part: Path, dest: Path, *, url: str, sha256: str, size: int | None) -> Path:
    actual = sha256_of(part)
    if actual != sha256:
        got = part.stat().st_size
        bad = _sibling(dest, ".bad")
        os.replace(part, bad)
        expected = f", expected {size}" if size is not None else ""
        raise DownloadError(
            f"Checksum mismatch for {dest.name} downloaded from {url}: SHA-256 {actual}, expected "
            f"{sha256} ({got} bytes{expected}). The file was moved aside to {bad} and will not be "
            f"used; run again to download it afresh, or try another mirror.")
    os.replace(part, dest)
    return dest


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    name = member.name
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or path.is_absolute() or re.match(r"^[A-Za-z]:", name):
        raise DownloadError(f"Refusing to extract {archive}: member {name!r} has an absolute path.")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        raise DownloadError(f"Refusing to extract {archive}: member {name!r} contains '..'.")
    if member.issym() or member.islnk():
        target = PurePosixPath(member.linkname)
        # A symlink is relative to its own folder, a hard link to the archive root.
        base = path.parent if member.issym() else PurePosixPath()
        depth = len(base.parts)
        for part in target.parts:
            depth = depth - 1 if part == ".." else depth + (part not in ("", "."))
            if depth < 0:
                break
        if target.is_absolute() or depth < 0:
            kind = "symlink" if member.issym() else "hard link"
            raise DownloadError(f"Refusing to extract {archive}: member {name!r} is a {kind} "
                                f"pointing outside the destination ({member.linkname!r}).")
    elif not (member.isfile() or member.isdir()):
        raise DownloadError(f"Refusing to extract {archive}: member {name!r} is a device or FIFO.")


def safe_extract(archive: Path, dest: Path) -> Path:
    """Extract a .tar(.gz) into `dest`, refusing absolute paths, `..` and links leading outside.

    Every member is checked before anything is written; the archive is extracted into a temporary
    folder (beside `dest`, or inside it when `dest` already exists) and its top-level entries are
    renamed into `dest` only once extraction is complete."""
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise DownloadError(f"Archive {archive} does not exist.")
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, archive)
            top = sorted({PurePosixPath(m.name).parts[0] for m in members
                          if PurePosixPath(m.name).parts})
            clashes = [name for name in top if (dest / name).exists()]
            if clashes:
                raise DownloadError(f"Refusing to extract {archive}: {dest} already holds "
                                    f"{', '.join(clashes)}; remove it to extract again.")
            existed = dest.is_dir()
            holder = dest if existed else dest.parent
            holder.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.extracting-", dir=holder))
            try:
                tar.extractall(tmp, members=members, filter="data")
                if existed:
                    for name in top:
                        os.replace(tmp / name, dest / name)
                    tmp.rmdir()
                else:
                    os.replace(tmp, dest)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, tarfile.FilterError):
            raise DownloadError(f"Refusing to extract {archive}: {exc}") from exc
        raise DownloadError(f"Cannot extract {archive}: {exc!r} (a damaged archive? delete it "
                            f"and download it again).") from exc
    return dest


def fetch_gtzan(dest_dir: Path, *, urls: Iterable[str] | None = None, sha256: str = GTZAN_SHA256,
                size: int | None = GTZAN_SIZE, progress: bool = True,
                timeout: float = TIMEOUT) -> Path:
    """Download (unless verified already) and extract GTZAN's genres.tar.gz into `dest_dir`;
    return `dest_dir`, the folder holding `genres/`. An existing `genres/` is trusted as is."""
    dest_dir = Path(dest_dir)
    if (dest_dir / "genres").is_dir():
        return dest_dir
    archive = download(list(urls) if urls is not None else list(GTZAN_URLS),
                       dest_dir / GTZAN_ARCHIVE, sha256=sha256, size=size, progress=progress,
                       timeout=timeout)
    safe_extract(archive, dest_dir)
    if not (dest_dir / "genres").is_dir():
        raise DownloadError(f"{archive} was extracted into {dest_dir} but holds no genres/ folder.")
    return dest_dir


def _mirror(base_url: str | None) -> str | None:
    """A mirror's base URL, checked (http(s):// or file://) and ending with "/"."""
    if base_url is None:
        return None
    if not re.match(r"^(https?|file)://", base_url):
        raise ValueError(f"base_url must start with http://, https:// or file://, got {base_url!r}.")
    return base_url if base_url.endswith("/") else base_url + "/"


def fetch_metadata(dest_dir: Path, *, base_url: str | None = None, progress: bool = False,
                   timeout: float = TIMEOUT) -> dict[str, Path]:
    """Download and verify the four METADATA files into `dest_dir`; `base_url` (http(s):// or
    file://) replaces their host, each file fetched from `base_url + name`."""
    dest_dir, base_url = Path(dest_dir), _mirror(base_url)
    out = {}
    for name, (url, sha) in METADATA.items():
        urls = [base_url + name] if base_url else [url, *METADATA_COPIES.get(name, ())]
        out[name] = download(urls, dest_dir / name, sha256=sha, progress=progress, timeout=timeout)
    return out


def fetch_features(dest_dir: Path, *, base_url: str | None = None, progress: bool = False,
                   timeout: float = TIMEOUT) -> Path:
    """Download and verify GTZAN's feature table (`FEATURES_FILE`) into `dest_dir`; `base_url`
    (http(s):// or file://) replaces the pinned URLs, the file fetched from `base_url + FEATURES_FILE`."""
    base_url = _mirror(base_url)
    urls = [base_url + FEATURES_FILE] if base_url else list(FEATURES_URLS)
    return download(urls, Path(dest_dir) / FEATURES_FILE, sha256=FEATURES_SHA256, size=FEATURES_SIZE,
                    progress=progress, timeout=timeout)
