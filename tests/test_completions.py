"""Shell completion: the scripts in completions/ are current, and real shells complete with
them (bash always; zsh and fish when installed). Start-up stays light for TAB presses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from losscli.devtools import COMPLETIONS, SCRIPTS, completion_script
from tests.conftest import ROOT

BIN = str(Path(sys.executable).parent)  # where the losscli console script is installed


def shell_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.mark.parametrize("shell", list(SCRIPTS))
def test_completion_scripts_are_current(shell):
    path = COMPLETIONS / SCRIPTS[shell]
    assert path.read_text() == completion_script(shell), (
        f"{path} is stale: run python -m losscli.devtools completions")


def test_zsh_script_starts_with_compdef():
    assert (COMPLETIONS / "_losscli").read_text().startswith("#compdef losscli\n")


def bash_complete(*words: str) -> list[str]:
    """Source completions/losscli.bash in a real bash and call its function with COMP_WORDS
    set to ``words`` (the last word is the one being completed)."""
    quoted = " ".join(f"'{w}'" for w in words)
    script = (f"source {COMPLETIONS / 'losscli.bash'}; COMP_WORDS=({quoted}); "
              f"COMP_CWORD={len(words) - 1}; _losscli_completion losscli; "
              "printf '%s\\n' \"${COMPREPLY[@]}\"; complete -p losscli >&2")
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                          text=True, env=shell_env(), cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "complete -o default -F _losscli_completion losscli" in proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


def test_bash_completes_loss_names():
    assert bash_complete("losscli", "eval", "x.csv", "--loss", "hu") == ["huber", "huber_loss"]
    assert "quantile" in bash_complete("losscli", "eval", "x.csv", "-l", "")


def test_bash_completes_commands_and_choices():
    assert {"check", "compare", "eval", "inspect", "losses"} <= set(bash_complete("losscli", ""))
    assert bash_complete("losscli", "ins") == ["inspect"]
    assert bash_complete("losscli", "eval", "x", "--format-in", "nd") == ["ndjson"]
    assert "--no-progress" in bash_complete("losscli", "eval", "x", "--no")


def test_bash_leaves_file_arguments_to_filename_completion():
    # No words from losscli: 'complete -o default' makes bash complete file names instead.
    assert bash_complete("losscli", "eval", "sample_d") == []
    assert bash_complete("losscli", "eval", "x.csv", "--targets", "sam") == []


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_losses_and_files():
    script = (f"source {COMPLETIONS / 'losscli.fish'}; "
              "complete -C 'losscli eval x.csv --loss hu'; echo ---; "
              "complete -C 'losscli eval sample_data/regression.p'")
    proc = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True,
                          text=True, env=shell_env(), cwd=ROOT, timeout=60)
    losses, files = proc.stdout.split("---\n")
    assert [line.split("\t")[0] for line in losses.splitlines()] == ["huber", "huber_loss"]
    assert "Huber loss" in losses  # the summary is shown beside the name
    assert files.split() == ["sample_data/regression.parquet"]


ZSH_DRIVER = r"""
zmodload zsh/zpty
zpty -b z zsh -f -i
zpty -w z "PS1='> '; autoload -Uz compinit; compinit -u; source {script}; setopt nobeep"
zpty -w -n z $'losscli eval x.csv --loss hu\t\t'
zpty -r -m z out '*huber_loss*' && print -r -- "$out"
zpty -d z
"""


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_loss_names_at_a_real_prompt():
    """An interactive zsh on a pseudo-terminal (zpty): TAB after '--loss hu' lists both."""
    driver = ZSH_DRIVER.replace("{script}", str(COMPLETIONS / "_losscli"))
    proc = subprocess.run(["zsh", "-f", "-c", driver], capture_output=True, env=shell_env(),
                          cwd=ROOT, timeout=60)
    assert b"huber_loss" in proc.stdout and b"Huber loss" in proc.stdout, proc.stdout[-500:]


def test_powershell_protocol_offers_loss_names():
    env = {**os.environ, "_LOSSCLI_COMPLETE": "complete_powershell",
           "_TYPER_COMPLETE_ARGS": "losscli eval x.csv --loss hu",
           "_TYPER_COMPLETE_WORD_TO_COMPLETE": "hu"}
    proc = subprocess.run([sys.executable, "-m", "losscli"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert [line.split(":::")[0] for line in proc.stdout.splitlines()] == ["huber", "huber_loss"]


def test_cli_import_does_not_load_heavy_modules():
    code = ("import sys, losscli.cli; heavy = [m for m in ('numpy', 'pandas', 'pyarrow', 'rich') "
            "if m in sys.modules]; print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout


def test_command_completion_does_not_load_numpy():
    env = {**os.environ, "_LOSSCLI_COMPLETE": "complete_bash", "COMP_WORDS": "losscli ev",
           "COMP_CWORD": "1", "PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.run([sys.executable, "-m", "losscli"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.stdout.split() == ["eval"]
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines()}
    assert "numpy" not in imported and "pyarrow" not in imported


def test_help_starts_quickly():
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "losscli", "--help"], capture_output=True,
                          timeout=60)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0
    assert elapsed < 3.0, f"losscli --help took {elapsed:.2f} s"  # ~0.15 s on a quiet machine
