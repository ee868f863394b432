"""Serving commands raise their soft limit of open files to the hard limit: a
vote storm from thousands of servers holds more sockets than the usual 1,024."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import resource
from node.open_files import raise_open_files_limit
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
raise_open_files_limit()
print(*resource.getrlimit(resource.RLIMIT_NOFILE), hard)
"""


def test_serving_raises_the_soft_open_files_limit_to_the_hard_one() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    soft, hard, original_hard = (int(n) for n in out)
    assert hard == original_hard  # the hard limit is not touched
    assert soft > 256
    assert soft == hard or hard == -1  # RLIM_INFINITY: raised to a million or more
