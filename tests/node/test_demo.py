"""``make demo`` (``python -m node.demo``): three real ``tocsin run`` processes on
free loopback ports follow each other, each calendar shows the others' events and
callouts, and SIGINT (Ctrl-C) stops all three and frees their ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from node.cli import main
from node.demo import EVENTS, NETWORKS
from tests.support.nodes import free_port

ROOT = Path(__file__).resolve().parents[2]
READY = "Ctrl-C stops all three"


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def port_free(port: int) -> bool:
    """Nothing listens there: a new server (``tocsin run`` binds this way) can."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


def following_of(
    folder: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """``tocsin following`` on the demo node ``name``."""
    for variable in list(os.environ):
        if variable.startswith("TOCSIN_") and not variable.startswith("TOCSIN_TEST_"):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(folder / name))
    capsys.readouterr()
    assert main(["following"]) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.timeout(180)
def test_demo_nodes_follow_each_other_fill_their_calendars_and_stop_on_ctrl_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "demo-data"
    ports = free_ports(3)
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "node.demo",
            "--dir",
            str(folder),
            "--ports",
            ",".join(map(str, ports)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        output = []
        while not output or READY not in output[-1]:
            line = demo.stdout.readline()
            assert line, "the demo stopped:\n" + "".join(output)
            output.append(line)
        nodes = children_of(demo.pid)
        assert len(nodes) == 3
        for (name, title), port in zip(NETWORKS, ports, strict=True):
            assert any(f"{title}" in line and f":{port}/" in line and "admin / " in line
                       for line in output), "".join(output)  # fmt: skip
            calendar = httpx.get(f"http://127.0.0.1:{port}/calendar", timeout=30).text
            callouts = httpx.get(f"http://127.0.0.1:{port}/callouts", timeout=30).text
            for other, _ in NETWORKS:
                for event in EVENTS:
                    assert f"{event}: {other.title()}".replace("'", "&#39;") in calendar
                assert f"Eviction resistance at 7am: {other.title()}" in callouts
            following = following_of(folder, name, monkeypatch, capsys)
            others = [p for p in ports if p != port]
            assert sorted(following) == sorted(
                f"accepted  http://127.0.0.1:{p}/actors/{n}"
                for (n, _), p in zip(NETWORKS, ports, strict=True)
                if p in others
            )
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
        demo.communicate()  # reaps it and closes its output
    assert not [pid for pid in nodes if alive(pid)], "a demo node outlived the demo"
    assert all(port_free(port) for port in ports)
