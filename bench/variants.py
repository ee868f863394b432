"""Start ``tocsin`` with a proposed fix applied from outside, to measure its
gain before anyone changes node/ or federation/.

    python -m bench.variants asyncio-loop,pre-ping -- run

Variants (each a monkeypatch applied before ``node.cli.main`` runs); both
undo a fix that is now the default, to measure what it is worth:

- ``asyncio-loop``: the pure-Python asyncio event loop instead of uvloop's;
- ``pre-ping``: the PostgreSQL pool pings a connection at every checkout
  (asyncpg's ping is BEGIN; ";"; ROLLBACK: three round trips).

Three take parts of the delivery window (``federation/delivery.py``) away:

- ``full-window``: a pass starts with its whole concurrency under way (no slow start);
- ``no-lag-narrowing``: a late event loop never narrows the window;
- ``unwritten-128``: POSTs pause only when 128 answered outcomes wait to be written.

One undoes part 5's batching of inbound processing:

- ``no-gather``: claims go at every wake-up (``GATHER`` 0) and the worker runs
  its jobs at every pass (``JOBS_WHILE_BUSY`` 0).

``python -m bench inbox --variant asyncio-loop,pre-ping`` runs a workload so.
"""

from __future__ import annotations

import sys
from typing import Any

VARIANTS = (
    "asyncio-loop",
    "pre-ping",
    "full-window",
    "no-lag-narrowing",
    "unwritten-128",
    "no-gather",
)


def apply(names: list[str]) -> None:
    for name in names:
        if name == "asyncio-loop":
            import node.cli

            node.cli._loop = lambda: None  # type: ignore[attr-defined]
        elif name == "pre-ping":
            import node.db

            with_pre_ping = _with_pre_ping(node.db.make_engine)

            node.db.make_engine = with_pre_ping  # type: ignore[assignment]
            import node.runtime

            node.runtime.make_engine = with_pre_ping  # type: ignore[attr-defined]
        elif name == "full-window":
            import functools

            import federation.delivery
            import node.worker

            node.worker.DeliveryWorker = functools.partial(  # type: ignore[misc]
                federation.delivery.DeliveryWorker,
                initial_window=federation.delivery.DEFAULT_CONCURRENCY,
            )
        elif name == "no-lag-narrowing":
            import federation.delivery

            federation.delivery.LOOP_LAG = float("inf")
        elif name == "no-gather":
            import node.inbound
            import node.worker

            node.inbound.GATHER = 0.0
            node.worker.JOBS_WHILE_BUSY = 0.0
        elif name == "unwritten-128":
            import federation.delivery

            federation.delivery.MAX_UNWRITTEN = 128
        else:
            raise SystemExit(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")


def _with_pre_ping(make_engine: Any) -> Any:
    def with_pre_ping(url: str, **kwargs: Any) -> Any:
        if not url.startswith("sqlite"):
            kwargs["pool_pre_ping"] = True
        return make_engine(url, **kwargs)

    return with_pre_ping


def main() -> int:
    args = sys.argv[1:]
    split = args.index("--") if "--" in args else len(args)
    names = [n for n in ",".join(args[:split]).split(",") if n]
    apply(names)
    from node.cli import main as tocsin

    return tocsin(args[split + 1 :])


if __name__ == "__main__":
    sys.exit(main())
