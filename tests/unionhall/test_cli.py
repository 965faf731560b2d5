"""The `unionhall` command as an operator meets it: help everywhere, clear refusals."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.harness import ROOT, destroy, make_instance
from unionhall.cli import _parser

COMMANDS = sorted(_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


@pytest.fixture
async def inst(tmp_path):
    instance = await make_instance(tmp_path, "x", "sud_rail", "SUD-Rail")
    try:
        yield instance
    finally:
        await destroy(instance)


def test_every_issue_command_exists():
    required = {"init", "serve", "worker", "follow", "unfollow", "post", "deliveries", "block", "unblock"}
    assert required <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = subprocess.run([sys.executable, "-m", "unionhall.cli", command, "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert f"unionhall {command}" in result.stdout and "usage:" in result.stdout


def test_commands_before_init_say_what_to_do(tmp_path):
    env = {"UNIONHALL_DATA": str(tmp_path / "empty"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "unionhall.cli", "post", "hello"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "run `unionhall init` first" in result.stderr
    assert not (tmp_path / "empty" / "unionhall.sqlite3").exists()


async def test_init_prints_handle_and_password_and_refuses_a_second_init(inst):
    config = (inst.data / "config.json").read_text()
    assert inst.url in config
    again = inst.cli("init", "--url", inst.url, "--handle", "other", "--name", "Other", check=False)
    assert again.returncode == 2 and "already initialised" in again.stderr
    assert await inst.sql("SELECT username, kind FROM actors_local ORDER BY id") == [
        ("sud_rail", "union"), (inst.host, "instance")]


async def test_bad_input_is_refused_with_a_reason_and_stores_nothing(inst):
    cases = [
        (("post", "Bonjour", "--lang", "français"), "not a language code"),
        (("post", "   "), "needs some text"),
        (("post", "Hello", "--lang", "en", "--also", "EN", "again"), "given twice"),
        (("follow", "not-a-handle"), "not a handle"),
        (("unfollow", "@nobody@127.0.0.1:9"), "not known here"),
        (("edit", f"{inst.url}/statements/nope", "text"), "no statement"),
        (("delete", f"{inst.url}/statements/nope"), "no statement"),
        (("unblock", "never-blocked.example"), "was not blocked"),
        (("approve", "@nobody@127.0.0.1:9"), "not known here"),
    ]
    for args, reason in cases:
        result = inst.cli(*args, check=False)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert reason in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert await inst.sql("SELECT count(*) FROM content_post") == [(0,)]
    assert await inst.sql("SELECT count(*) FROM outbox_activity") == [(0,)]
    assert await inst.sql("SELECT count(*) FROM federation_delivery") == [(0,)]


async def test_block_unblock_and_list(inst):
    assert "blocked spam.example" in inst.cli("block", "Spam.Example.", "--reason", "abuse").stdout
    listing = inst.cli("blocks").stdout
    assert "spam.example" in listing and "abuse" in listing
    assert "unblocked spam.example" in inst.cli("unblock", "spam.example").stdout
    assert "no domain blocks" in inst.cli("blocks").stdout


async def test_worker_alone_needs_postgres(inst):
    if inst.db_url.startswith("postgres"):
        pytest.skip("on PostgreSQL the separate worker is allowed")
    result = inst.cli("worker", check=False)
    assert result.returncode == 2 and "needs PostgreSQL" in result.stderr
