"""The ``tocsin`` command.

Most cases call ``node.cli.main([...])`` in this process (it reads its settings from
the environment and runs its own event loop, so these tests are plain sync tests).
Real processes only where the process boundary is the point: the console script and
its exit status, a password piped on stdin, a served node, and which libraries a
content command loads.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from node.cli import build_parser, main
from tests.support.nodes import free_port

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).parent / "tocsin"
# Loaded only by the commands that serve or migrate (run, web, worker, migrate, admin create).
SERVING_LIBRARIES = {"starlette", "alembic", "uvicorn"}


def tocsin_process(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The installed ``tocsin`` console script, with this test's environment."""
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh node configuration in the environment: its own data dir, SQLite in it."""
    for name in list(os.environ):
        if name.startswith("TOCSIN_") and not name.startswith("TOCSIN_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def node_database(
    data_dir: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The node's database: a migrated one, on SQLite and (when configured) PostgreSQL."""
    monkeypatch.setenv("TOCSIN_DATABASE_URL", migrated_database_url)
    return migrated_database_url


def stdin_of(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))  # not a terminal


# --- the real process ------------------------------------------------------------------


def test_bad_configuration_stops_the_console_script_with_the_variable_named(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_BASE_URL", "not a url")
    result = tocsin_process("migrate")
    assert result.returncode == 2
    assert "TOCSIN_BASE_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_admin_create_reads_the_password_piped_on_stdin(node_database: str) -> None:
    result = tocsin_process(
        "admin", "create", "rosa", "--role", "editor", "--password-stdin",
        stdin="correct horse battery\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Created editor 'rosa'" in result.stdout
    assert "One-time password" not in result.stdout


def test_content_commands_load_neither_the_web_stack_nor_alembic(node_database: str) -> None:
    assert main(["migrate"]) == 0  # here, so the child below never needs Alembic
    script = (
        "import json, sys\n"
        "from node.cli import main\n"
        "codes = [main(argv) for argv in"
        " (['callouts'], ['event', 'list'], ['calendar'], ['following'])]\n"
        "print(json.dumps([codes, sorted({m.split('.')[0] for m in sys.modules})]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    codes, loaded = json.loads(result.stdout.splitlines()[-1])
    assert codes == [0, 0, 0, 0]
    assert "sqlalchemy" in loaded  # the commands did run
    assert SERVING_LIBRARIES.isdisjoint(loaded), SERVING_LIBRARIES & set(loaded)


@pytest.mark.parametrize("command", ["worker", "run"])
def test_long_running_commands_freeze_what_they_import(command: str) -> None:
    """Out of the collector's sight (gc.freeze): a full collection would walk it all."""
    script = (
        "import gc, json, sys\n"
        "from node import cli\n"
        f"cli._freeze_imports({command!r})\n"
        "print(json.dumps([gc.get_freeze_count(), 'node.worker' in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    frozen, worker_loaded = json.loads(result.stdout.splitlines()[-1])
    assert worker_loaded and frozen > 10_000


def test_run_serves_a_discoverable_node_and_prints_the_first_password(data_dir: Path) -> None:
    port = free_port()
    run_env = {
        **os.environ,
        "TOCSIN_LISTEN": f"127.0.0.1:{port}",
        "TOCSIN_BASE_URL": f"http://127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "run"],
        env=run_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        webfinger = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                webfinger = httpx.get(
                    f"http://127.0.0.1:{port}/.well-known/webfinger",
                    params={"resource": f"acct:network@127.0.0.1:{port}"},
                )
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert webfinger is not None and webfinger.status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output
    assert "one-time password:" in output


# --- in this process ---------------------------------------------------------------------


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "web", "worker", "migrate", "admin", "event", "callouts"):
        assert command in out


def test_admin_create_refuses_a_name_taken(
    node_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin_of(monkeypatch, "correct horse battery\n")
    assert main(["admin", "create", "rosa", "--password-stdin"]) == 0
    stdin_of(monkeypatch, "x" * 12 + "\n")
    assert main(["admin", "create", "rosa", "--password-stdin"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_admin_create_without_password_prints_a_generated_one(
    node_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin_of(monkeypatch, "")
    assert main(["admin", "create", "lena"]) == 0
    assert "One-time password:" in capsys.readouterr().out


def test_admin_create_refuses_a_short_password(
    node_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin_of(monkeypatch, "short\n")
    assert main(["admin", "create", "kim", "--password-stdin"]) == 2
    assert "at least 10 characters" in capsys.readouterr().err


def test_an_event_created_on_the_command_line_is_listed_and_in_the_calendar(
    node_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    capsys.readouterr()
    created = main(
        ["event", "create", "--title", "Tenants' assembly", "--tag", "housing",
         "--start", "2099-12-03 19:00", "--end", "2099-12-03 21:00"]
    )  # fmt: skip
    assert created == 0, capsys.readouterr().err
    url = capsys.readouterr().out.strip()
    assert url.startswith("http://127.0.0.1:8000/")
    for argv in (["event", "list"], ["calendar", "--tag", "housing"]):
        assert main(argv) == 0
        assert f"2099-12-03 19:00 UTC  Tenants' assembly  (@network@127.0.0.1:8000)  {url}" in (
            capsys.readouterr().out
        )
    assert main(["calendar", "--tag", "gardening"]) == 0
    assert capsys.readouterr().out.strip() == "(no upcoming events)"


def test_a_new_node_follows_no_one_and_has_no_open_callouts(
    node_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["following"]) == 0
    assert main(["callouts"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "(not following anyone yet)",
        "(no open callouts)",
    ]


def test_every_command_in_the_compose_file_exists_in_the_cli() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    parser = build_parser()
    commands = [
        service["command"]
        for service in compose["services"].values()
        if "command" in service
        and "tocsin" in str(service.get("image", "")) + str(service.get("build", ""))
    ]
    assert commands, "compose.yaml runs no tocsin command"
    for command in commands:
        argv = command if isinstance(command, list) else command.split()
        assert argv[0] == "tocsin"
        parser.parse_args(argv[1:])  # exits (fails the test) on an unknown command


def test_dockerfile_runs_tocsin_web_as_non_root() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert "USER " in dockerfile and "USER root" not in dockerfile
    assert '"tocsin", "web"' in dockerfile
