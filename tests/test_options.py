"""Each option is declared once (losscli.options): the commands' Typer parameters, the API's
validation (spec.build_spec), inspect's subset and the help all come from the declaration."""

from __future__ import annotations

import dataclasses

import pytest
import typer

from losscli import options, spec, vocab
from losscli.cli import app
from losscli.errors import UsageError
from losscli.inspection import INSPECT_OPTIONS
from losscli.options import OPTIONS, PARAM_OPTIONS, api_options, command_options
from losscli.registry import all_losses
from tests.conftest import run_losscli

COMMANDS = ("eval", "check", "compare", "inspect", "merge", "losses")


def click_options(command: str) -> dict[str, object]:
    group = typer.main.get_command(app)
    sub = group.get_command(typer.Context(group, info_name="losscli"), command)  # type: ignore[attr-defined]
    return {p.name: p for p in sub.params if p.param_type_name == "option"}


def flags(option: options.Option) -> set[str]:
    return {f for spelling in option.flags for f in spelling.split("/")}


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_takes_exactly_its_declared_options(command):
    params = click_options(command)
    declared = {o.name: o for o in command_options(command)}
    assert set(params) - {"help"} == set(declared)
    for name, option in declared.items():
        param = params[name]
        assert set(param.opts) | set(param.secondary_opts) == flags(option), name
        assert param.help == option.attribute("help", command), name
        assert getattr(param, "rich_help_panel", None) == option.attribute("panel", command)
        if option.enum:  # shown as [a|b|...]: exactly the vocabulary's words, in its order
            assert tuple(param.type.choices) == option.choices, name
        if option.default is not None:
            assert getattr(param.default, "value", param.default) == option.default, name


def test_choices_are_the_vocabulary_tuples():
    by_name = options.BY_NAME
    for name, words in (("reduction", vocab.REDUCTIONS), ("nan_policy", vocab.NAN_POLICIES),
                        ("fmt", vocab.OUTPUT_FORMATS), ("task", vocab.TASKS),
                        ("format_in", vocab.INPUT_FORMATS), ("data_changed", vocab.DATA_CHANGED),
                        ("engine", vocab.ENGINES), ("ci_method", vocab.CI_METHODS),
                        ("sort", vocab.GROUP_SORTS), ("unmatched", vocab.UNMATCHED),
                        ("partitioning", vocab.PARTITIONINGS)):
        assert by_name[name].choices is words  # the tuple itself, never re-spelled


def test_the_api_validates_exactly_the_declared_options():
    fields = {f.name: f for cls in (spec.InputSpec, spec.RunOptions)
              for f in dataclasses.fields(cls)}
    # predictions is the API's first argument, not an option
    assert set(api_options()) == set(fields) - {"predictions"}
    for name in api_options():  # a declared default is the field's default
        option, field = options.BY_NAME[name], fields[name]
        if option.default is not None:
            assert field.default == option.default, name


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.api and o.choices],
                         ids=lambda o: o.name)
def test_the_api_refuses_a_word_outside_the_declared_choices(option):
    with pytest.raises(UsageError) as info:
        spec.build_spec("p.csv", **{option.name: "bogus"})
    assert f"{option.name} must be one of: {', '.join(option.choices)}" in str(info.value)
    assert "'bogus'" in str(info.value)


def test_inspect_takes_the_declared_input_options_and_no_others(tmp_path):
    declared = {o.name for o in OPTIONS if o.api and o.takes("inspect")}
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


def test_loss_parameter_flags_are_the_registry_parameters():
    declared: dict[str, set[type]] = {}
    for loss in all_losses().values():
        for p in loss.params:
            declared.setdefault(p.name, set()).add(p.type)
    flag_types = {o.name: o.type for o in PARAM_OPTIONS}
    # --auc-bins: the ranking metrics' bins alone (tests/test_metrics.py)
    assert set(flag_types) == set(declared) | {"auc_bins"}
    for name, types in declared.items():
        wanted = flag_types[name]
        allowed = {float, int} if wanted is float else {wanted}
        assert types <= allowed, (name, types, wanted)
    assert {o.name for o in PARAM_OPTIONS} == set(options.PARAM_NAMES)


def test_defaults_are_written_once():
    import losscli.grouping
    import losscli.io.stream
    import losscli.session
    import losscli.uncertainty

    assert losscli.grouping.MAX_GROUPS is options.MAX_GROUPS == options.default("max_groups")
    assert losscli.session.DEFAULT_CHUNK_SIZE == options.DEFAULT_CHUNK_SIZE
    assert losscli.io.stream.MAX_LINE == options.MAX_LINE_BYTES
    ci = losscli.uncertainty.CIConfig()
    assert (ci.level, ci.replicates) == (options.default("ci_level"), options.default("replicates"))
    assert losscli.uncertainty.METHODS is vocab.CI_METHODS
    help_text = run_losscli("eval", "--help", env={"COLUMNS": "400"}).stdout.decode()
    assert f"Default {options.DEFAULT_CHUNK_SIZE}," in " ".join(help_text.split())
