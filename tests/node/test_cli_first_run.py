"""The first minutes with ``tocsin``: ``run`` announces its URL and the first admin's
password only once its port is bound, and a taken port spends no password; a
command run where there is no node says where it looked, in one line, and creates
nothing.

``run`` is a real process here (the port and the order of its output are the point);
the other commands run in this process through ``node.cli.main``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from node.cli import main
from tests.support.nodes import free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD_LINE = "one-time password:"


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No TOCSIN_ variable but the test ones; the working directory is an empty folder."""
    for name in list(os.environ):
        if name.startswith("TOCSIN_") and not name.startswith("TOCSIN_TEST_"):
            monkeypatch.delenv(name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return elsewhere


@pytest.fixture
def port() -> int:
    return free_port()


def run_process(data_dir: Path, port: int) -> subprocess.Popen[str]:
    """``tocsin run`` on ``port``; its log (standard error) goes to ``data_dir``'s side."""
    env = {
        **os.environ,
        "TOCSIN_DATA_DIR": str(data_dir),
        "TOCSIN_LISTEN": f"127.0.0.1:{port}",
        "TOCSIN_BASE_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("TOCSIN_DATABASE_URL", None)
    with log_of(data_dir).open("a") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "node.cli", "run"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )


def log_of(data_dir: Path) -> Path:
    return data_dir.parent / "run.log"


@pytest.fixture
def taken(port: int) -> Iterator[socket.socket]:
    """Another program listening on ``port``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield sock


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    out, _ = process.communicate(timeout=30)
    return out


def test_run_prints_its_url_only_once_the_url_answers(tmp_path: Path, port: int) -> None:
    process = run_process(tmp_path / "data", port)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == f"Tocsin is running at http://127.0.0.1:{port}/"
        # at once, no retry: the socket is listening before the line is printed
        answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
        assert answer.status_code == 200
        assert PASSWORD_LINE in process.stdout.readline()
    finally:
        stop(process)


def test_a_taken_port_is_named_with_the_way_out_and_spends_no_password(
    tmp_path: Path, port: int, taken: socket.socket
) -> None:
    data_dir = tmp_path / "data"
    first = run_process(data_dir, port)
    out, _ = first.communicate(timeout=60)
    err = log_of(data_dir).read_text()
    assert first.returncode != 0
    assert "Tocsin is running" not in out and PASSWORD_LINE not in out
    message = err.strip().splitlines()[-1]
    assert f"127.0.0.1:{port}" in message and "in use" in message
    assert "TOCSIN_LISTEN" in message and "TOCSIN_BASE_URL" in message
    taken.close()
    second = run_process(data_dir, port)
    try:
        assert second.stdout is not None
        assert "Tocsin is running" in second.stdout.readline()
        assert PASSWORD_LINE in second.stdout.readline(), "the first start spent the password"
    finally:
        stop(second)


@pytest.mark.parametrize(
    "argv",
    [
        ["following"],
        ["calendar"],
        ["admin", "create", "rosa"],
        ["admin", "reset-password", "admin"],
        ["follow", "@network@example.org"],
    ],
)
def test_a_command_where_there_is_no_node_says_where_it_looked_and_creates_nothing(
    clean_env: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert str(clean_env / "data") in lines[0] and "TOCSIN_DATA_DIR" in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert list(clean_env.iterdir()) == [], "the command created files"


def test_a_command_pointed_at_a_node_by_tocsin_data_dir_finds_it(
    clean_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(tmp_path / "node"))
    assert main(["migrate"]) == 0  # migrate makes a node where there is none
    assert (tmp_path / "node" / "tocsin.db").is_file()
    capsys.readouterr()
    assert main(["following"]) == 0
    assert capsys.readouterr().out.strip() == "(not following anyone yet)"
    assert list(clean_env.iterdir()) == []
