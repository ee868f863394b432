"""The `tocsin` command, run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from node.cli import build_parser
from tests.support.nodes import free_port

ROOT = Path(__file__).resolve().parents[2]


def tocsin(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"TOCSIN_DATA_DIR": str(tmp_path / "data")}


def test_help_lists_every_command(env: dict[str, str]) -> None:
    result = tocsin("--help", env=env)
    assert result.returncode == 0
    for command in ("run", "web", "worker", "migrate", "admin"):
        assert command in result.stdout


def test_bad_configuration_stops_with_the_variable_named(env: dict[str, str]) -> None:
    result = tocsin("migrate", env={**env, "TOCSIN_BASE_URL": "not a url"})
    assert result.returncode == 2
    assert "TOCSIN_BASE_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_admin_create_reads_the_password_from_stdin(env: dict[str, str]) -> None:
    result = tocsin(
        "admin",
        "create",
        "rosa",
        "--role",
        "editor",
        "--password-stdin",
        env=env,
        stdin="correct horse battery\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Created editor 'rosa'" in result.stdout
    assert "One-time password" not in result.stdout
    again = tocsin("admin", "create", "rosa", "--password-stdin", env=env, stdin="x" * 12 + "\n")
    assert again.returncode == 2
    assert "already exists" in again.stderr


def test_admin_create_without_password_prints_a_generated_one(env: dict[str, str]) -> None:
    result = tocsin("admin", "create", "lena", env=env)
    assert result.returncode == 0, result.stderr
    assert "One-time password:" in result.stdout


def test_admin_create_refuses_a_short_password(env: dict[str, str]) -> None:
    result = tocsin("admin", "create", "kim", "--password-stdin", env=env, stdin="short\n")
    assert result.returncode == 2
    assert "at least 10 characters" in result.stderr


def test_run_serves_a_discoverable_node_and_prints_the_first_password(
    env: dict[str, str],
) -> None:
    port = free_port()
    run_env = {
        **os.environ,
        **env,
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
