"""The open-files limit of a serving process."""

from __future__ import annotations

import contextlib
import resource


def raise_open_files_limit() -> None:
    """Raise the soft limit of open files to the hard one, as Go's runtime does.

    A serving process holds a socket per connection: inbox requests, deliveries,
    and fetches whose idle connections are kept a few seconds per host; a vote
    storm from thousands of servers goes past the usual soft limit of 1,024,
    while the hard limit (what the administrator allows) is far higher.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(soft, 1 << 20) if hard == resource.RLIM_INFINITY else hard
    if soft < wanted:  # refused, e.g. above the kernel's nr_open: the limit stays
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
