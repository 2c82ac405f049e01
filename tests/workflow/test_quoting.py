"""Every value a rule passes to a shell is quoted: a data root and a results folder with
spaces, `$`, quotes and non-ASCII characters reach each `bau` command as one argument."""

from __future__ import annotations

import shlex

import yaml

from tests.workflow.helpers import DEFAULT_CONFIG, make_workdir, snakemake_cli, write_config

ROOT = "data root $HOME 'q' é"
RESULTS = "res ults $(x) `y` 'z' ü"


def _shell_commands(output: str) -> list[str]:
    """The commands a dry run prints (a quoted title may hold a newline: read on until the
    command parses)."""
    commands, lines = [], iter(output.splitlines())
    for line in lines:
        if "Shell command: " not in line:
            continue
        command = line.split("Shell command: ", 1)[1]
        while True:
            try:
                shlex.split(command)
                break
            except ValueError:
                command += "\n" + next(lines)
        commands.append(command)
    return commands


def test_every_shell_command_keeps_paths_whole(tmp_path):
    workdir = make_workdir(tmp_path / "clone")
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config["data"]["root"] = ROOT
    config["results"] = RESULTS
    path = write_config(workdir / "config" / "odd.yaml", config)
    result = snakemake_cli(workdir, "-n", "-p", "--cores", "2", "all_tables", f"--configfile={path}", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    commands = [c for c in _shell_commands(result.stdout) if c != "None"]
    assert len(commands) == 100 - 1 - 24 - 1  # every job but the Python steps (settings, run_config) and all_tables
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "bau", command
        # A path is one word that starts with the whole root or results folder.
        for word in words:
            if "res ults" in word:
                assert word.startswith(RESULTS + "/"), (word, command)
            if "data root" in word:
                assert word == ROOT or word.startswith(ROOT + "/"), (word, command)
        log = words[words.index(">") + 1]
        assert log.startswith(f"{RESULTS}/logs/") and log.endswith(".log"), command
