"""One bounded download: size cap, per-request timeout, visible retries, per-repo deadline.

Used for repo metadata (``builder.repos``) and RPMs (``builder.fetch``). Every wait is bounded:
``timeout`` seconds per connect/read, ``retries`` more tries with doubling waits that are printed
(``retry 2/4 of URL in 2 s: read timed out``), and a ``Deadline`` per repo that no retry or slow
body may pass. A body longer than the size the metadata declares is cut off and discarded.
Local sources (file:// and plain paths) must be regular files no larger than the cap.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterator

from builder import __version__, exitcodes
from builder.errors import HaBundleError
from builder.progress import say

if TYPE_CHECKING:  # requests costs ~0.1 s to import; local repos never need it
    import requests

CHUNK = 1 << 20
RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
MAX_WAIT = 30.0


@dataclass(frozen=True)
class Limits:
    """How long to wait for mirrors (``--timeout``, ``--deadline``, ``--retries``)."""

    timeout: float = 20.0    # seconds per connect and per read
    deadline: float = 900.0  # seconds per repo: its metadata, then its RPMs
    retries: int = 4         # more tries after the first, waits 1, 2, 4, 8 s
    backoff: float = 1.0


class Deadline:
    """An overall time budget for one repo."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds, self.what = seconds, what
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self, url: str) -> None:
        if self.left() <= 0:
            raise TransferFailed(f"gave up on {url}: the per-repo deadline of {self.seconds:g} s passed",
                                 exitcodes.NETWORK, "the mirror is too slow or hangs: retry later, raise --deadline, "
                                                    "or use --mirror ID=URL")


class TransferFailed(Exception):
    """A download failed for good (callers wrap it in their own error with context)."""

    def __init__(self, message: str, exit_code: int = exitcodes.INPUT, hint: str = "", discard: bool = False) -> None:
        super().__init__(message)
        self.message, self.exit_code, self.hint = message, exit_code, hint
        self.discard = discard  # the partial file is wrong, not just incomplete

    def as_error(self, reference: str, who: str, context: list[str] | None = None) -> HaBundleError:
        """The HaBundleError to raise, the message prefixed by who ('repo base')."""
        return HaBundleError(reference, f"{who}: {self.message}", context or [], hint=self.hint or
                             "check the network and the repo's baseurl, or use --mirror ID=URL",
                             exit_code=self.exit_code)


class _Retry(Exception):
    pass


def make_session() -> "requests.Session":
    """Plain session: retries are ours (printed, deadline-bounded), not urllib3's silent ones."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(max_retries=0, pool_maxsize=32)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"ha-bundle/{__version__}"
    return session


def too_big(url: str, limit: int) -> TransferFailed:
    return TransferFailed(f"{url} is larger than the {limit} bytes its metadata declares; download stopped "
                          "and discarded", exitcodes.INPUT, "the mirror serves something else than its "
                          "metadata says: do not use it (use --mirror ID=URL)", discard=True)


def copy_local(source: Path, out: BinaryIO, limit: int, url: str) -> int:
    """Copy a regular file of at most ``limit`` bytes (never a device, FIFO or directory)."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise TransferFailed(f"cannot read {url}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as src:
        info = os.fstat(src.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise TransferFailed(f"{url} is not a regular file; refusing to read it")
        if info.st_size > limit:
            raise too_big(url, limit)
        written = 0
        for chunk in iter(lambda: src.read(CHUNK), b""):
            written += len(chunk)
            if written > limit:
                raise too_big(url, limit)
            out.write(chunk)
    return written


def download(session: "requests.Session", url: str, part: Path, *, limit: int, limits: Limits,
             deadline: Deadline, on_bytes: Callable[[int], None] = lambda n: None, resume: bool = True) -> None:
    """Fetch ``url`` into ``part``, resuming what earlier tries left; raises TransferFailed."""
    attempt = 0
    while True:
        deadline.check(url)
        try:
            _one_try(session, url, part, limit, limits, deadline, on_bytes, resume)
            return
        except _Retry as exc:
            attempt += 1
            if attempt > limits.retries:
                raise TransferFailed(f"gave up on {url} after {attempt} tries: {exc}",
                                     exitcodes.NETWORK, "the mirror does not answer: check the network, retry "
                                     "later, raise --timeout/--retries, or use --mirror ID=URL") from None
            wait = min(limits.backoff * 2 ** (attempt - 1), MAX_WAIT)
            if deadline.left() < wait:
                raise TransferFailed(f"gave up on {url}: {exc}, and the per-repo deadline of "
                                     f"{deadline.seconds:g} s leaves no time to retry", exitcodes.NETWORK,
                                     "retry later, raise --deadline, or use --mirror ID=URL") from None
            say(f"{deadline.what}: {exc} from {url}; waiting {wait:g} s, then retry {attempt}/{limits.retries}")
            time.sleep(wait)


def _chunks(resp: "requests.Response") -> Iterator[bytes]:
    """Whatever has arrived (read1), so a trickling body still reaches the deadline check."""
    raw = resp.raw
    if not hasattr(raw, "read1"):  # urllib3 < 2
        yield from resp.iter_content(64 << 10)
        return
    while True:
        data = raw.read1(CHUNK, decode_content=True)
        if not data:
            return
        yield data


def _one_try(session: "requests.Session", url: str, part: Path, limit: int, limits: Limits, deadline: Deadline,
             on_bytes: Callable[[int], None], resume: bool) -> None:
    import requests

    have = part.stat().st_size if resume and part.exists() else 0
    if have > limit:
        part.unlink()
        have = 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    read_timeout = max(0.5, min(limits.timeout, deadline.left()))
    try:
        with session.get(url, stream=True, headers=headers, timeout=(limits.timeout, read_timeout),
                         allow_redirects=False) as resp:
            if resp.status_code == 206 and have:
                mode, written = "ab", have
            elif resp.status_code == 200:
                mode, written = "wb", 0
            elif resp.status_code == 416 and have:
                return  # already complete; the checksum decides
            elif resp.status_code in RETRY_STATUSES:
                raise _Retry(f"HTTP {resp.status_code}")
            elif 300 <= resp.status_code < 400:
                raise TransferFailed(f"{url} redirects to {resp.headers.get('Location', '?')!r}; redirects are "
                                     "not followed (a mirror may not send us elsewhere)", exitcodes.INPUT,
                                     "point --mirror ID=URL at the final location")
            else:
                raise TransferFailed(f"{url} answered HTTP {resp.status_code}", exitcodes.INPUT,
                                     "check the repo's baseurl in the manifest, or point it at a mirror with "
                                     "--mirror ID=URL")
            length = resp.headers.get("Content-Length", "")
            if length.isdigit() and written + int(length) > limit:
                raise too_big(url, limit)
            with open(part, mode) as out:
                for chunk in _chunks(resp):
                    written += len(chunk)
                    if written > limit:
                        raise too_big(url, limit)
                    out.write(chunk)
                    on_bytes(len(chunk))
                    deadline.check(url)
    except TransferFailed as exc:
        if exc.discard:
            part.unlink(missing_ok=True)
        raise
    except requests.Timeout:
        raise _Retry(f"no answer for {limits.timeout:g} s") from None
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        raise _Retry(f"connection failed ({type(exc).__name__})") from None
    except requests.RequestException as exc:
        raise TransferFailed(f"cannot download {url}: {exc}") from None
