"""Start ``tocsin`` with a proposed fix applied from outside, to measure its
gain before anyone changes node/ or federation/.

    python -m bench.variants uvloop,no-pre-ping -- run

Variants (each a monkeypatch applied before ``node.cli.main`` runs):

- ``uvloop``: the event loop ``tocsin`` runs on is uvloop's (``tocsin`` calls
  ``asyncio.run``, which otherwise gives the pure-Python selector loop, and
  uvicorn only installs uvloop when it creates the loop itself);
- ``no-pre-ping``: the PostgreSQL pool does not ping a connection at every
  checkout (asyncpg's ping is BEGIN; ";"; ROLLBACK: three round trips);

``python -m bench inbox --variant uvloop,no-pre-ping`` runs a workload so.
"""

from __future__ import annotations

import sys
from typing import Any

VARIANTS = ("uvloop", "no-pre-ping")


def apply(names: list[str]) -> None:
    for name in names:
        if name == "uvloop":
            import asyncio

            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        elif name == "no-pre-ping":
            import node.db

            without_pre_ping = _without_pre_ping(node.db.make_engine)

            node.db.make_engine = without_pre_ping  # type: ignore[assignment]
            import node.runtime

            node.runtime.make_engine = without_pre_ping  # type: ignore[attr-defined]
        else:
            raise SystemExit(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")


def _without_pre_ping(make_engine: Any) -> Any:
    def without_pre_ping(url: str, **kwargs: Any) -> Any:
        if not url.startswith("sqlite"):
            kwargs["pool_pre_ping"] = False
        return make_engine(url, **kwargs)

    return without_pre_ping


def main() -> int:
    args = sys.argv[1:]
    split = args.index("--") if "--" in args else len(args)
    names = [n for n in ",".join(args[:split]).split(",") if n]
    apply(names)
    from node.cli import main as tocsin

    return tocsin(args[split + 1 :])


if __name__ == "__main__":
    sys.exit(main())
