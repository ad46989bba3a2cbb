"""The local spool: messages kept on disk while the database cannot take them.

When the database is down, a webhook must still answer WeChat within 5 s and must
not lose the message. The channel's parsed message is written here, one file per
message, named by a hash of its dedupe key: WeChat's retries of the same message
land on the same file, so the spool holds each message once however often it came.
A file is written whole or not at all (a temporary file, fsync, `os.replace`, fsync
of the directory), so a crash mid-write leaves no half message behind.

Files rather than a local SQLite database: the spool must work when SQLite itself is
the database that is locked or unwritable, files need no schema, and every web
process can write and drain the same directory without a lock of its own (a file is
taken by renaming it, which only one process can do).

A drainer thread replays each kept message through the normal inbound handling once
the database answers again; the dedupe key stops a message that a retry already
delivered from being handled twice.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

SUFFIX = ".json"
FAILED = "failed"  # messages the handling refused for a reason other than an outage
MAX_FILE_BYTES = 256 * 1024  # a parsed message is far smaller (bodies stop at 64 KB)
RETRY_FIRST, RETRY_MAX = 0.5, 30.0  # seconds between drain passes while the database is down
LOOK_EVERY = 10.0  # seconds between looks for leftovers from an earlier process


class SpoolFull(Exception):
    """The spool holds its maximum: the message cannot be kept."""


class Outage(Exception):
    """The database did not answer: stop draining and try again later."""


def spool_dir(base: str | os.PathLike[str], database_url: str, schema: str | None,
              project: Path) -> Path:
    """Return this database's own spool folder under the configured one.

    Each database gets a folder named by a hash of its address (without the password),
    so a spool is never drained into another database than the one it was meant for.
    """
    path = Path(base)
    if not path.is_absolute():
        path = project / path
    address = make_url(database_url).render_as_string(hide_password=True)
    digest = hashlib.sha256(f"{address}|{schema or ''}".encode()).hexdigest()[:16]
    return path / digest


class Spool:
    """A folder of kept messages, one JSON file per dedupe key."""

    def __init__(self, folder: Path, max_messages: int) -> None:
        self.folder = folder
        self.max_messages = max_messages
        self._full_logged = False

    def _path(self, key: str) -> Path:
        return self.folder / (hashlib.sha256(key.encode("utf-8")).hexdigest() + SUFFIX)

    def keep(self, key: str, message: dict[str, Any]) -> None:
        """Write the message under its key, atomically; raise SpoolFull at the bound."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._path(key)
        if not path.exists() and self.count() >= self.max_messages:
            if not self._full_logged:
                log.error("spool %s is full (%d messages): new messages are refused until "
                          "the database is back", self.folder, self.max_messages)
                self._full_logged = True
            raise SpoolFull(str(self.folder))
        data = json.dumps({"key": key, "message": message}, ensure_ascii=False).encode("utf-8")
        if len(data) > MAX_FILE_BYTES:
            raise SpoolFull(f"a message of {len(data)} bytes")
        temporary = self.folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        # residents' words and openids: readable by the service's user alone
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        self._sync_folder()

    def _sync_folder(self) -> None:
        descriptor = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def count(self) -> int:
        """Return how many messages wait."""
        return len(self.pending())

    def pending(self) -> list[Path]:
        """Return the waiting files, oldest first."""
        try:
            entries = [entry for entry in os.scandir(self.folder)
                       if entry.is_file() and entry.name.endswith(SUFFIX)
                       and not entry.name.startswith(".")]
        except FileNotFoundError:
            return []
        dated = []
        for entry in entries:
            try:
                dated.append((entry.stat().st_mtime_ns, entry.name, entry.path))
            except FileNotFoundError:
                continue  # drained by another thread or process since the folder was listed
        dated.sort()
        return [Path(path) for _, _, path in dated]

    def load(self, path: Path) -> tuple[str, dict[str, Any]] | None:
        """Read a kept message; None when the file is gone or unreadable (it is set aside)."""
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ValueError("too large")
            data = json.loads(path.read_bytes())
            key, message = data["key"], data["message"]
            if not isinstance(key, str) or not isinstance(message, dict):
                raise ValueError("not a kept message")
        except FileNotFoundError:
            return None  # another process drained it
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.error("spool file %s is unreadable (%s); set aside", path.name, type(err).__name__)
            self.set_aside(path)
            return None
        return key, message

    def discard(self, path: Path) -> None:
        """Forget a message that has been handled."""
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        else:
            self._full_logged = False

    def set_aside(self, path: Path) -> None:
        """Move a message the handling refused into failed/, for an operator to read."""
        (self.folder / FAILED).mkdir(exist_ok=True)
        try:
            os.replace(path, self.folder / FAILED / path.name)
        except FileNotFoundError:
            pass


# Given a key and a kept message: True when it is handled (now or earlier), False to keep
# it for later; raises Outage when the database is still down.
Replay = Callable[[str, dict[str, Any]], bool]


class Drainer:
    """One background thread per process that replays the spool once the database is back."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._lock = threading.Lock()
        self._running = False
        self._next_look = 0.0  # monotonic time of the next look for leftovers
        self._wake = threading.Event()
        self._kicked = False  # kicked while a pass ran: look again before stopping
        self._stopping = threading.Event()

    def kick(self, replay: Replay, delay: float = 0.0) -> None:
        """Start draining (after `delay` seconds), or wake a drain that waits for the database."""
        with self._lock:
            if self._stopping.is_set():
                return
            if self._running:
                self._kicked = True
                if not delay:
                    self._wake.set()
                return
            self._running = True
        try:
            self._thread.submit(self._loop, replay, delay)
        except RuntimeError:  # shut down meanwhile
            with self._lock:
                self._running = False

    def due_for_look(self) -> bool:
        """Tell whether to drain now: a drain is waiting, or (at most every LOOK_EVERY s) files wait.

        A process that starts finds what an earlier one left on its first message.
        """
        now = time.monotonic()
        with self._lock:
            if self._running:
                return True
            if now < self._next_look:
                return False
            self._next_look = now + LOOK_EVERY
        return bool(self.spool.pending())

    def _loop(self, replay: Replay, delay: float) -> None:
        wait = RETRY_FIRST
        try:
            if delay:
                self._wake.wait(delay)
            while not self._stopping.is_set():
                self._wake.clear()
                with self._lock:
                    self._kicked = False
                try:
                    left = self.drain(replay)
                except Exception:
                    log.exception("spool drain stopped; it resumes with the next kick")
                    return
                if not left:
                    return
                if self._wake.wait(wait):
                    wait = RETRY_FIRST
                else:
                    wait = min(wait * 2, RETRY_MAX)
        finally:
            with self._lock:
                self._running = False
                again = self._kicked and not self._stopping.is_set()
            if again:  # a message was kept while this pass was ending
                self.kick(replay)

    def drain(self, replay: Replay) -> int:
        """Replay what waits, oldest first; return how many are left."""
        paths = self.spool.pending()
        for index, path in enumerate(paths):
            if self._stopping.is_set():
                return len(paths) - index
            loaded = self.spool.load(path)
            if loaded is None:
                continue
            try:
                handled = replay(*loaded)
            except Outage:
                log.info("database still unreachable; %d spooled message(s) wait",
                         len(paths) - index)
                return len(paths) - index
            except Exception:
                log.exception("spooled message %s could not be handled; set aside", path.name)
                self.spool.set_aside(path)
                continue
            if handled:
                self.spool.discard(path)
        return self.spool.count()

    def close(self) -> None:
        """Stop after the message in hand."""
        self._stopping.set()
        self._wake.set()
        self._thread.shutdown(wait=True)
