"""Each option is declared once (issue 20, items 2 and 4): the API's options are the fields of
losscli.spec's dataclasses, the CLI's own a table in losscli.cli.options, the loss-parameter
flags the registry's Params. The commands' Typer parameters, the API's validation
(spec.build_spec), inspect's subset and the help all come from those declarations."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import typer

from losscli import spec, vocab
from losscli.cli import app
from losscli.cli.options import CLI_OPTIONS, command_options
from losscli.errors import UsageError
from losscli.inspection import INSPECT_OPTIONS
from losscli.registry import all_losses
from tests.conftest import ROOT, run_losscli

COMMANDS = ("eval", "check", "compare", "inspect", "merge", "losses")
PARAMS_PANEL = "Loss parameters"


def click_command(command: str):
    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name="losscli")
    return group.get_command(ctx, command), ctx  # type: ignore[attr-defined]


def click_options(command: str) -> dict[str, object]:
    sub, ctx = click_command(command)
    return {p.name: p for p in sub.get_params(ctx) if p.param_type_name == "option"}


def registry_params() -> dict[str, list[tuple[str, object]]]:
    uses: dict[str, list[tuple[str, object]]] = {}
    for loss in all_losses().values():
        for p in loss.params:
            uses.setdefault(p.name, []).append((loss.name, p))
    return uses


def help_text(command: str) -> str:
    proc = run_losscli(command, "--help", env={"COLUMNS": "400"})
    assert proc.returncode == 0, proc.stderr
    return " ".join(proc.stdout.decode().replace("│", " ").split())


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_takes_exactly_its_declared_options(command):
    params = click_options(command)
    declared = {o.name: o for o in command_options(command)}
    loss_flags = {n for n, p in params.items()
                  if getattr(p, "rich_help_panel", None) == PARAMS_PANEL} - set(declared)
    assert set(params) - {"help"} - loss_flags == set(declared)
    assert bool(loss_flags) == (command in ("eval", "check", "compare"))
    for name, option in declared.items():
        param = params[name]
        spelled = {f for spelling in option.flags for f in spelling.split("/")}
        assert set(param.opts) | set(param.secondary_opts) == spelled, name
        assert param.help == option.attribute("help", command), name
        assert getattr(param, "rich_help_panel", None) == option.attribute("panel", command)
        if option.enum:  # shown as [a|b|...]: exactly the vocabulary's words, in its order
            assert tuple(param.type.choices) == option.attribute("choices", command), name
        if option.cli_default is not None:
            assert getattr(param.default, "value", param.default) == option.default, name


def test_every_api_field_is_a_declared_option():
    """A field of InputSpec or RunOptions is an option of the API only through its
    declaration: build_spec validates every one, and each has a validator or choices."""
    fields = [f for cls in (spec.InputSpec, spec.RunOptions) for f in dataclasses.fields(cls)]
    assert [f.name for f in fields if "option" not in f.metadata] == ["predictions"]
    assert {o.name for o in spec.API_OPTIONS} == {f.name for f in fields} - {"predictions"}
    for option in spec.API_OPTIONS:
        assert option.choices or option.check is not None, option.name
        field = next(f for f in fields if f.name == option.name)
        default = field.default if field.default is not dataclasses.MISSING else (
            field.default_factory())  # type: ignore[misc]
        assert option.default == default, option.name  # the default stated once: the field's


def test_choices_are_the_vocabulary_tuples():
    by_name = {o.name: o for o in (*spec.API_OPTIONS, *CLI_OPTIONS)}
    for name, words in (("reduction", vocab.REDUCTIONS), ("nan_policy", vocab.NAN_POLICIES),
                        ("fmt", vocab.OUTPUT_FORMATS), ("task", vocab.TASKS),
                        ("format_in", vocab.INPUT_FORMATS), ("data_changed", vocab.DATA_CHANGED),
                        ("engine", vocab.ENGINES), ("ci_method", vocab.CI_METHODS),
                        ("sort", vocab.GROUP_SORTS), ("unmatched", vocab.UNMATCHED),
                        ("partitioning", vocab.PARTITIONINGS),
                        ("ci_format", vocab.CI_FORMATS),
                        ("output_format", vocab.STDOUT_SINK_FORMATS)):
        assert by_name[name].choices is words  # the tuple itself, never re-spelled
    assert by_name["fmt"].per_command["check"]["choices"] is vocab.CHECK_FORMATS
    source = (ROOT / "losscli" / "spec.py").read_text()
    for words in (vocab.ENGINES, vocab.CI_METHODS, vocab.GROUP_SORTS, vocab.UNMATCHED,
                  vocab.PARTITIONINGS):
        assert repr(words) not in source and repr(list(words)) not in source


@pytest.mark.parametrize("option", [o for o in spec.API_OPTIONS if o.choices],
                         ids=lambda o: o.name)
def test_the_api_refuses_a_word_outside_the_declared_choices(option):
    with pytest.raises(UsageError) as info:
        spec.build_spec("p.csv", **{option.name: "bogus"})
    assert f"{option.name} must be one of: {', '.join(option.choices)}" in str(info.value)
    assert "'bogus'" in str(info.value)


@pytest.mark.parametrize("option", [o for o in spec.API_OPTIONS if o.choices and o.flags],
                         ids=lambda o: o.name)
def test_the_cli_refuses_a_word_outside_the_declared_choices(option, tmp_path):
    command = "eval" if option.takes("eval") else sorted(option.commands)[0]
    proc = run_losscli(command, tmp_path / "p.csv", option.flags[0], "bogus")
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr
    assert b"bogus" in proc.stderr and all(w.encode() in proc.stderr for w in option.choices)
    assert proc.stderr.count(b"\n") == 1 and proc.stdout == b""


def test_inspect_takes_the_declared_input_options_and_no_others(tmp_path):
    declared = {o.name for o in spec.API_OPTIONS if o.takes("inspect")}
    assert set(INSPECT_OPTIONS) == declared
    assert set(click_options("inspect")) - {"help", "fmt"} == declared
    assert {"chunk_size", "workers", "engine", "id_col", "losses"}.isdisjoint(declared)
    with pytest.raises(UsageError, match="inspect has no option 'chunk_size'"):
        spec.build_spec("p.csv", where="inspect", allowed=INSPECT_OPTIONS, chunk_size=3)
    path = tmp_path / "p.csv"
    path.write_text("pred,target\n0.5,1\n")
    proc = run_losscli("inspect", path, "--chunk-size", "3")
    assert proc.returncode == 2 and b"No such option: --chunk-size" in proc.stderr
    assert b"Traceback" not in proc.stderr
    ok = run_losscli("inspect", path, "--encoding", "latin-1", "-f", "json")
    assert ok.returncode == 0, ok.stderr


def test_a_new_field_joins_the_commands_it_names_and_no_others():
    """An option declared without ``commands`` goes to the evaluating commands, never to
    inspect: inspect's options are those that name it, not all but an exclusion list."""
    from losscli.options import declared, option

    @dataclasses.dataclass(frozen=True)
    class More:
        foo: int = option(3, "--foo", type=int, panel="Inputs", help="a new option")

    (foo,) = declared(More)
    assert foo.name == "foo" and foo.default == 3
    assert foo.takes("eval") and foo.takes("check") and foo.takes("compare")
    assert not foo.takes("inspect") and not foo.takes("merge")


def test_loss_parameter_flags_are_built_from_the_registry():
    uses = registry_params()
    text = help_text("eval")
    for name, pairs in uses.items():
        flag = "--" + name.replace("_", "-")
        assert flag in text, flag
        for loss, _ in pairs:  # every loss that takes it is named in its help
            assert f"{loss}" in text
    for command in ("eval", "check", "compare"):
        flags = {n for n, p in click_options(command).items()
                 if getattr(p, "rich_help_panel", None) == PARAMS_PANEL}
        assert flags == set(uses) | {"auc_bins"}  # --auc-bins: the ranking metrics' bins
    # each flag's help: the doc and the default of each loss taking it
    eps = click_options("eval")["eps"].help
    for loss, p in uses["eps"]:
        assert loss in eps and f"(default {p.default:g})" in eps  # type: ignore[attr-defined]
    swap = click_options("eval")["swap"]
    assert set(swap.opts) | set(swap.secondary_opts) == {"--swap", "--no-swap"}


def test_a_loss_parameter_flag_reaches_the_loss(tmp_path):
    rng = np.random.default_rng(3)
    y, p = rng.normal(size=40), rng.normal(size=40)
    path = tmp_path / "d.csv"
    path.write_text("pred,target\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(p, y)))
    proc = run_losscli("eval", path, "-l", "huber", "--delta", "0.3", "-l", "quantile",
                       "--quantile", "0.9", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    doc = {r["name"]: r for r in json.loads(proc.stdout)["losses"]}
    d = np.abs(p - y)
    huber = np.where(d <= 0.3, 0.5 * d**2, 0.3 * (d - 0.5 * 0.3)).mean()
    pinball = np.maximum(0.9 * (y - p), (0.9 - 1) * (y - p)).mean()
    assert doc["huber"]["value"] == pytest.approx(huber, rel=1e-12)
    assert doc["quantile"]["value"] == pytest.approx(pinball, rel=1e-12)
    assert doc["huber"]["params"] == {"delta": 0.3}
    bad = run_losscli("eval", path, "-l", "mse", "--delta", "0.3")
    assert bad.returncode == 2 and b"--delta" in bad.stderr and b"Traceback" not in bad.stderr


def test_defaults_are_written_once():
    import losscli.grouping
    import losscli.io.stream
    import losscli.session
    import losscli.uncertainty

    assert losscli.grouping.MAX_GROUPS is spec.MAX_GROUPS == spec.default("max_groups")
    assert losscli.session.DEFAULT_CHUNK_SIZE is spec.DEFAULT_CHUNK_SIZE
    assert losscli.io.stream.MAX_LINE is spec.MAX_LINE_BYTES
    ci = losscli.uncertainty.CIConfig()
    assert (ci.level, ci.replicates) == (spec.default("ci_level"), spec.default("replicates"))
    assert losscli.uncertainty.METHODS is vocab.CI_METHODS
    text = help_text("eval")
    assert f"Default {spec.DEFAULT_CHUNK_SIZE}," in text
    assert f"(default {spec.MAX_LINE_BYTES >> 20}M)" in text
    assert f"[default: {spec.MAX_GROUPS}]" in text
    assert f"[default: {spec.REPLICATES}]" in text and f"[default: {spec.CI_LEVEL}]" in text


def test_cli_is_a_package_of_small_modules():
    folder = ROOT / "losscli" / "cli"
    modules = sorted(p.name for p in folder.glob("*.py"))
    assert modules == ["__init__.py", "after.py", "hygiene.py", "options.py"]
    commands_dir = folder / "commands"  # one module a command (losscli.cli.COMMANDS)
    assert sorted(p.name for p in commands_dir.glob("*.py")) == [
        "__init__.py", "check.py", "compare.py", "evaluate.py", "history.py",
        "inspect_file.py", "losses.py", "merge.py"]
    bodies_dir = folder / "run"  # ... and its body, imported when it runs
    assert sorted(p.name for p in bodies_dir.glob("*.py")) == sorted(
        p.name for p in commands_dir.glob("*.py"))
    assert not (ROOT / "losscli" / "cli.py").exists()
    for path in [*folder.rglob("*.py"), ROOT / "losscli" / "spec.py",
                 ROOT / "losscli" / "options.py", ROOT / "losscli" / "validators.py"]:
        assert len(Path(path).read_text().splitlines()) <= 500, path
    # the one "after the run" block: each evaluating command hands its result to it
    commands = "\n".join(p.read_text() for p in [*commands_dir.glob("*.py"),
                                                  *bodies_dir.glob("*.py")])
    after = (folder / "after.py").read_text()
    assert commands.count("after_run(") == 3  # eval, check, compare
    assert "def after_run(" in after and "def after_run(" not in commands
    assert "show_pictures(" not in commands and "write_report_html(" not in commands


def test_both_entry_points_run(tmp_path):
    import subprocess

    path = tmp_path / "d.csv"
    path.write_text("pred,target\n1,2\n3,3\n")
    via_module = run_losscli("eval", path, "-l", "mse", "-f", "json")  # python -m losscli
    assert via_module.returncode == 0 and json.loads(via_module.stdout)["losses"][0][
        "value"] == pytest.approx(0.5)
    code = "import sys; sys.argv = ['losscli', '--version']; from losscli.__main__ import entry; entry()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("losscli ")
