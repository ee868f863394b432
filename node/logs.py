"""What the node's processes log, and what they never log.

Nothing about the people who read the node or answer it is logged: no client
address, no handle, no account id. Libraries that would log them are kept at
WARNING (httpx and httpcore log every URL they fetch, a remote-follow lookup's
WebFinger URL holds the visitor's handle; aiohttp and uvicorn log client
addresses), and a filter on every handler removes, from messages below WARNING,
IP addresses, ``@name@host`` handles and the paths of URLs (an actor id becomes
``https://host/…``). Warnings and errors keep their URLs (they are about refused
requests and failures an admin must be able to trace) but never an IP address.
uvicorn's websocket support is off (``ws="none"`` in ``node.cli``): the node
has no websockets, and any web page could make a visitor's browser knock.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = ("httpx", "httpcore", "hpack", "aiohttp", "asyncio", "websockets", "uvicorn.access")
UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")

_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(
    r"(?<![\w:])(?:(?:[0-9A-Fa-f]{1,4}:){4,7}[0-9A-Fa-f]{1,4}"  # full form
    r"|[0-9A-Fa-f:]*::[0-9A-Fa-f:]*[0-9A-Fa-f])(?![\w:])"  # with "::" (not clock times)
)
_URL_PATH = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s\"'<>]+)[^\s\"'<>]+", re.IGNORECASE)
_HANDLE = re.compile(r"(?:acct:)?@?[\w.+-]+@([\w.-]+(?::\d+)?)")


def redact(message: str, *, keep_urls: bool = False) -> str:
    """``message`` without addresses, handles, or (unless ``keep_urls``) URL paths."""
    if not keep_urls:
        message = _URL_PATH.sub(r"\1/…", message)
        message = _HANDLE.sub(r"…@\1", message)
    message = _IPV6.sub("[address]", message)
    # a URL's host may be an IP (a loopback test node): keep the URL, drop client IPs
    return _IPV4.sub(lambda m: m.group(0) if _in_url(message, m.start()) else "[address]", message)


def _in_url(message: str, start: int) -> bool:
    return message[max(0, start - 3) : start] == "://"


class PrivacyFilter(logging.Filter):
    """Rewrites each record's message through :func:`redact`; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message, keep_urls=record.levelno >= logging.WARNING)
        record.args = None
        return True


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to ``sys.stderr`` as it is when a record is emitted, not as it was
    when the handler was made (a command run in-process, as tests do, may be
    given a stream that is closed afterwards)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def setup_logging(level: int = logging.INFO) -> None:
    """The logging of every ``tocsin`` command (called from ``node.cli``; calling
    it again replaces its own handler, and leaves other handlers alone)."""
    privacy = PrivacyFilter()
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(privacy)
    root = logging.getLogger()
    kept = [h for h in root.handlers if not isinstance(h, StderrHandler)]
    root.handlers[:] = [*kept, handler]
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn installs its own handlers later; a filter on its loggers survives that
    for name in UVICORN:
        logging.getLogger(name).addFilter(privacy)
