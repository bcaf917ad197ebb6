"""CI-native output of ``check`` and ``compare`` (issue 22, item 3), through the real CLI:
GitHub Actions' step summary and workflow-command annotations, JUnit XML and GitLab's
metrics report (OpenMetrics). Every expectation is computed here with numpy from the data,
and every format must agree with the exit code (the gate's one verdict)."""

from __future__ import annotations

import itertools
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_losscli

REGIONS = ("east", "west", "north", "south, 50%: x")  # the last needs every escape


def _data(tmp_path: Path, seed: int = 0, n: int = 400) -> tuple[Path, dict]:
    """A CSV (pred, target, region) and the mse/mae of the whole and of each region."""
    rng = np.random.default_rng(seed)
    region = np.array(REGIONS)[np.arange(n) % len(REGIONS)]
    target = rng.normal(size=n)
    scale = np.select([region == r for r in REGIONS], [0.5, 1.0, 1.5, 2.0])
    pred = target + rng.normal(size=n) * scale
    path = tmp_path / "preds.csv"
    import csv

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["pred", "target", "region"])
        for p, t, r in zip(pred, target, region):
            w.writerow([repr(float(p)), repr(float(t)), r])
    err = pred - target
    ref = {"mse": float(np.mean(err ** 2)), "mae": float(np.mean(np.abs(err))),
           "groups": {r: {"mse": float(np.mean(err[region == r] ** 2)),
                          "mae": float(np.mean(np.abs(err[region == r])))} for r in REGIONS}}
    return path, ref


def _gh_env(tmp_path: Path, previous: str = "previous step\n") -> tuple[dict, Path]:
    summary = tmp_path / "step_summary.md"
    summary.write_text(previous)
    return {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}, summary


def _annotations(stderr: str, kind: str = "error") -> list[tuple[str, str]]:
    """(title, message) of each ``::KIND title=...::message`` line, un-escaped."""
    out = []
    for line in stderr.splitlines():
        m = re.fullmatch(rf"::{kind} title=([^:]*)::(.*)", line)
        if m:
            out.append((_unescape(m.group(1)), _unescape(m.group(2))))
    return out


def _unescape(text: str) -> str:
    for code, ch in (("%2C", ","), ("%3A", ":"), ("%0A", "\n"), ("%0D", "\r"), ("%25", "%")):
        text = text.replace(code, ch)
    return text


def _between(low: float, high: float) -> float:
    return (low + high) / 2


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    return _data(tmp_path_factory.mktemp("ci"))


def test_github_failing_loss_summary_and_annotations(tmp_path: Path, data) -> None:
    path, ref = data
    env, summary = _gh_env(tmp_path)
    # mse fails (bound below its value), mae passes (bound above)
    proc = run_losscli("check", path, "--loss", "mse", "--loss", "mae",
                       "--max", f"mse={ref['mse'] * 0.9}", "--max", f"mae={ref['mae'] * 1.1}",
                       env=env)
    assert proc.returncode == 1, proc.stderr
    text = summary.read_text()
    assert text.startswith("previous step\n")  # appended, not replaced
    assert "losscli check failed" in text and "`mse`" in text.split("\n\n")[1]
    errors = _annotations(proc.stderr.decode())
    assert [t for t, _ in errors] == ["losscli check: mse failed"]
    assert "above --max" in errors[0][1]
    # stdout is the table, free of workflow commands
    assert "::error" not in proc.stdout.decode()


def test_github_passing_check_writes_a_passed_summary_and_no_error(tmp_path: Path,
                                                                    data) -> None:
    path, ref = data
    env, summary = _gh_env(tmp_path, previous="")
    proc = run_losscli("check", path, "--loss", "mse", "--max", f"mse={ref['mse'] * 2}",
                       "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["passed"] is True  # stdout stays pure JSON
    assert "losscli check passed" in summary.read_text()
    assert _annotations(proc.stderr.decode()) == []


def test_github_groups_every_failing_group_and_nothing_else(tmp_path: Path, data) -> None:
    path, ref = data
    env, summary = _gh_env(tmp_path)
    values = sorted(g["mse"] for g in ref["groups"].values())
    bound = _between(values[1], values[2])  # two groups above, two below
    failing = {r for r, g in ref["groups"].items() if g["mse"] > bound}
    proc = run_losscli("check", path, "--loss", "mse", "--group-by", "region",
                       "--max", f"mse={bound}", env=env)
    errors = _annotations(proc.stderr.decode())
    titles = {t for t, _ in errors}
    expected = {f"losscli check: group region={r} failed" for r in failing}
    if ref["mse"] > bound:
        expected.add("losscli check: mse failed")
    assert titles == expected and len(errors) == len(expected)
    assert proc.returncode == (1 if expected else 0)
    text = summary.read_text()
    for r in failing:  # the summary names the failing groups, as the exit code says
        assert f"region={r}" in text
    assert "losscli check failed" in text


def test_no_ci_annotations_keeps_the_summary(tmp_path: Path, data) -> None:
    path, ref = data
    env, summary = _gh_env(tmp_path, previous="")
    proc = run_losscli("check", path, "--loss", "mse", "--max", f"mse={ref['mse'] / 2}",
                       "--no-ci-annotations", env=env)
    assert proc.returncode == 1
    assert "::" not in proc.stderr.decode()
    assert "losscli check failed" in summary.read_text()


def test_ci_format_github_outside_actions_and_none_inside(tmp_path: Path, data) -> None:
    path, ref = data
    args = ("check", path, "--loss", "mse", "--max", f"mse={ref['mse'] / 2}")
    proc = run_losscli(*args, env={"GITHUB_ACTIONS": ""})
    assert proc.returncode == 1 and _annotations(proc.stderr.decode()) == []
    proc = run_losscli(*args, "--ci-format", "github", env={"GITHUB_ACTIONS": "",
                                                            "GITHUB_STEP_SUMMARY": ""})
    assert proc.returncode == 1
    assert [t for t, _ in _annotations(proc.stderr.decode())] == ["losscli check: mse failed"]
    gh, summary = _gh_env(tmp_path, previous="")
    proc = run_losscli(*args, "--ci-format", "none", env=gh)
    assert proc.returncode == 1 and "::" not in proc.stderr.decode()
    assert summary.read_text() == ""


def test_notes_are_notices(tmp_path: Path, data) -> None:
    path, _ = data
    baseline = tmp_path / "base.json"
    # a baseline without a fingerprint: a note (never a failure)
    doc = json.loads(run_losscli("eval", path, "--loss", "mse", "--format", "json").stdout)
    doc.pop("fingerprint", None)
    baseline.write_text(json.dumps(doc))
    env, _ = _gh_env(tmp_path)
    proc = run_losscli("check", path, "--baseline", baseline, "--rtol", "0.01", env=env)
    assert proc.returncode == 0, proc.stderr
    notices = _annotations(proc.stderr.decode(), "notice")
    assert any("no data fingerprint" in m for _, m in notices)
    assert _annotations(proc.stderr.decode()) == []


def test_annotation_escaping_of_group_names(tmp_path: Path, data) -> None:
    """A group key with ``,`` ``:`` and ``%`` is escaped in the title property (else the
    runner cuts the title there) and comes back whole."""
    path, ref = data
    env, _ = _gh_env(tmp_path)
    odd = REGIONS[-1]
    bound = _between(max(g["mse"] for r, g in ref["groups"].items() if r != odd),
                     ref["groups"][odd]["mse"])
    assert ref["groups"][odd]["mse"] > bound  # the odd group has the largest noise
    proc = run_losscli("check", path, "--loss", "mse", "--group-by", "region",
                       "--max", f"mse={bound}", env=env)
    raw = [line for line in proc.stderr.decode().splitlines() if line.startswith("::error")]
    assert any("south%2C 50%25%3A x" in line for line in raw), raw
    titles = [t for t, _ in _annotations(proc.stderr.decode())]
    assert f"losscli check: group region={odd} failed" in titles


def test_compare_appends_its_markdown(tmp_path: Path, data) -> None:
    path, _ = data
    env, summary = _gh_env(tmp_path)
    other = tmp_path / "b.csv"
    other.write_bytes(path.read_bytes())
    proc = run_losscli("compare", f"a={path}", f"b={other}", "--loss", "mse", env=env)
    assert proc.returncode == 0, proc.stderr
    text = summary.read_text()
    assert text.startswith("previous step\n") and "| `mse` |" in text
    assert _annotations(proc.stderr.decode()) == []


def test_step_summary_is_guarded(tmp_path: Path, data) -> None:
    """$GITHUB_STEP_SUMMARY naming an input is refused before anything is read."""
    path, _ = data
    before = path.read_bytes()
    proc = run_losscli("check", path, "--loss", "mse", "--max", "mse=1",
                       env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(path)})
    assert proc.returncode == 2
    err = proc.stderr.decode().strip().splitlines()
    assert len(err) == 1 and "GITHUB_STEP_SUMMARY" in err[0] and "input" in err[0]
    assert path.read_bytes() == before


# ---------------------------------------------------------------------------------------
# JUnit XML

def _junit(xml: bytes) -> tuple[ET.Element, list[ET.Element]]:
    """Parse and check the shape the JUnit schema Jenkins/GitLab read describes:
    testsuites > testsuite > (properties?, testcase*); testcase has name, classname, time
    and at most one of failure/skipped (failure with a message)."""
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    suites = list(root)
    assert [s.tag for s in suites] == ["testsuite"]
    suite = suites[0]
    children = list(suite)
    assert children[0].tag == "properties"
    assert all(p.tag == "property" and set(p.attrib) == {"name", "value"} for p in children[0])
    cases = children[1:]
    assert cases and all(c.tag == "testcase" for c in cases)
    for c in cases:
        assert {"name", "classname", "time"} <= set(c.attrib)
        float(c.attrib["time"])
        kinds = [e.tag for e in c]
        assert set(kinds) <= {"failure", "skipped", "system-out"}
        assert kinds.count("failure") + kinds.count("skipped") <= 1
        for f in c.findall("failure"):
            assert f.attrib["message"]
    failures = [c for c in cases if c.find("failure") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    for el in (root, suite):
        assert int(el.attrib["tests"]) == len(cases)
        assert int(el.attrib["failures"]) == len(failures)
        assert int(el.attrib["errors"]) == 0
        float(el.attrib["time"])
    assert int(suite.attrib["skipped"]) == len(skipped)
    return suite, cases


def test_junit_one_case_per_loss_and_group(tmp_path: Path, data) -> None:
    path, ref = data
    values = sorted(g["mse"] for g in ref["groups"].values())
    bound = _between(values[2], values[3])
    proc = run_losscli("check", path, "--loss", "mse", "--loss", "mae", "--group-by",
                       "region", "--max", f"mse={bound}", "--format", "junit")
    _, cases = _junit(proc.stdout)
    names = [c.attrib["name"] for c in cases]
    groups = [f"region={r}" for r in REGIONS]
    assert sorted(names) == sorted(["mse", "mae", *(f"{g}: {loss}" for g in groups
                                                   for loss in ("mse", "mae"))])
    failed = {c.attrib["name"] for c in cases if c.find("failure") is not None}
    expected = {f"region={r}: mse" for r, g in ref["groups"].items() if g["mse"] > bound}
    expected |= {"mse"} if ref["mse"] > bound else set()
    assert failed == expected and proc.returncode == (1 if expected else 0)
    msg = next(c for c in cases if c.attrib["name"] in expected).find("failure")
    assert "above --max" in msg.attrib["message"]
    # mae has no bound: nothing checked, a skipped case
    assert next(c for c in cases if c.attrib["name"] == "mae").find("skipped") is not None


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 4), with_mae=st.booleans(), grouped=st.booleans(),
       overall=st.booleans())
def test_junit_failures_are_the_verdicts_failed_set(tmp_path: Path, data, cut: int,
                                                     with_mae: bool, grouped: bool,
                                                     overall: bool) -> None:
    """Over generated bounds and groupings: the JUnit failures == the verdict's failed set
    (the ``failed`` list of --format json, computed here from numpy too) == exit code."""
    import losscli

    path, ref = data
    values = sorted(g["mse"] for g in ref["groups"].values())
    edges = [values[0] / 2, *(_between(a, b) for a, b in itertools.pairwise(values)),
             values[-1] * 2]
    bound = ref["mse"] * 1.01 if overall else edges[cut]
    args = ["--loss", "mse", "--max", f"mse={bound}"]
    if with_mae:
        args += ["--loss", "mae", "--min", f"mae={ref['mae'] * 0.99}"]  # passes overall
    if grouped:
        args += ["--group-by", "region"]
    proc = run_losscli("check", path, *args, "--format", "junit")
    _, cases = _junit(proc.stdout)
    failed = {c.attrib["name"] for c in cases if c.find("failure") is not None}
    expected = {"mse"} if ref["mse"] > bound else set()
    if grouped:  # every bound applies to every group too
        expected |= {f"region={r}: mse" for r, g in ref["groups"].items() if g["mse"] > bound}
        if with_mae:
            expected |= {f"region={r}: mae" for r, g in ref["groups"].items()
                         if g["mae"] < ref["mae"] * 0.99}
    result = losscli.check(str(path), max={"mse": bound},
                           losses=["mse", *(["mae"] if with_mae else [])],
                           min={"mae": ref["mae"] * 0.99} if with_mae else None,
                           group_by=["region"] if grouped else None)
    assert failed == expected == set(result.outcome.failed)
    assert proc.returncode == result.outcome.exit_code == (1 if expected else 0)


# ---------------------------------------------------------------------------------------
# OpenMetrics

_LINE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="'
                   r'(?:[^"\\]|\\.)*",?)*)\})? (\S+)')


def _metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    lines = text.rstrip("\n").split("\n")
    assert lines[-1] == "# EOF"
    out = []
    for line in lines[:-1]:
        if line.startswith("# "):
            assert re.fullmatch(r"# (TYPE \S+ gauge|HELP \S+ .*)", line), line
            continue
        m = _LINE.fullmatch(line)
        assert m, line
        labels = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in
                  re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or "")}
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def test_openmetrics_lines(tmp_path: Path, data) -> None:
    path, ref = data
    proc = run_losscli("check", path, "--loss", "mse", "--group-by", "region", "--ci",
                       "--replicates", "50", "--max", f"mse={ref['mse'] * 2}",
                       "--format", "openmetrics")
    assert proc.returncode == 0, proc.stderr
    samples = _metrics(proc.stdout.decode())
    by = {(n, tuple(sorted(lab.items()))): v for n, lab, v in samples}
    assert math.isclose(by[("losscli_loss_value", (("loss", "mse"),))], ref["mse"],
                        rel_tol=1e-9)
    for r, g in ref["groups"].items():
        key = (("group", f"region={r}"), ("loss", "mse"))
        assert math.isclose(by[("losscli_loss_value", key)], g["mse"], rel_tol=1e-9)
        low, high = by[("losscli_loss_ci_low", key)], by[("losscli_loss_ci_high", key)]
        assert low <= g["mse"] <= high
        assert by[("losscli_check_passed", key)] == 1.0
    # one value line per loss and group, one line per interval bound
    names = [n for n, _, _ in samples]
    assert names.count("losscli_loss_value") == 1 + len(REGIONS)
    assert names.count("losscli_loss_ci_low") == names.count("losscli_loss_ci_high") == 5
    assert by[("losscli_gate_passed", ())] == 1.0
    assert by[("losscli_check_failures", ())] == 0.0


def test_escaping_helpers_one_place_per_format() -> None:
    from losscli.present.ci_formats import label_value, workflow_command, xml_attr

    assert workflow_command("error", "50% a\nb", title="x, y: z") == (
        "::error title=x%2C y%3A z::50%25 a\\nb")
    assert label_value('a"b\\c') == 'a\\"b\\\\c'
    assert xml_attr('<a & "b">') == "&lt;a &amp; &quot;b&quot;&gt;"
    assert ET.fromstring(f'<x a="{xml_attr(chr(27) + "<&")}"/>').attrib["a"] == "\\x1b<&"


def test_missing_group_is_a_failing_case_and_an_annotation(tmp_path: Path, data) -> None:
    """A group of the baseline that the data lack fails the gate: one JUnit failure named
    as the verdict names it (``region=north: missing``) and one annotation."""
    import losscli

    path, _ = data
    proc = run_losscli("eval", path, "--loss", "mse", "--group-by", "region", "--format",
                       "json")
    baseline = tmp_path / "base.json"
    baseline.write_bytes(proc.stdout)
    lines = path.read_text().splitlines()
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("\n".join([lines[0], *(x for x in lines[1:]
                                            if not x.endswith(",north"))]) + "\n")
    args = ("check", fewer, "--group-by", "region", "--baseline", baseline, "--atol", "10")
    proc = run_losscli(*args, "--format", "junit")
    _, cases = _junit(proc.stdout)
    failed = {c.attrib["name"] for c in cases if c.find("failure") is not None}
    result = losscli.check(str(fewer), group_by=["region"], baseline=str(baseline), atol=10)
    assert failed == set(result.outcome.failed) == {"region=north: missing"}
    assert proc.returncode == result.outcome.exit_code == 1
    env, summary = _gh_env(tmp_path)
    proc = run_losscli(*args, env=env)
    assert [t for t, _ in _annotations(proc.stderr.decode())] == [
        "losscli check: group region=north failed"]
    assert "region=north" in summary.read_text()


def test_junit_parses_with_junitparser_and_validates_against_the_schema(tmp_path: Path,
                                                                          data) -> None:
    """The XML Jenkins, GitLab and Azure read: valid against the JUnit schema
    (tests/data/junit.xsd, Jenkins' junit-10 structure) and read by junitparser with the
    failures exactly where check failed (the verdict's `failed` list in JSON)."""
    import junitparser
    import xmlschema

    path, ref = data
    values = sorted(g["mse"] for g in ref["groups"].values())
    args = ["check", path, "--loss", "mse", "--loss", "mae", "--group-by", "region", "--ci",
            "--replicates", "50", "--max", f"mse={_between(values[1], values[2])}"]
    proc = run_losscli(*args, "--format", "junit")
    verdict = json.loads(run_losscli(*args, "--format", "json").stdout)
    assert proc.returncode == 1
    report = tmp_path / "junit.xml"
    report.write_bytes(proc.stdout)
    xmlschema.XMLSchema(Path(__file__).parent / "data" / "junit.xsd").validate(str(report))
    xml = junitparser.JUnitXml.fromfile(str(report))
    cases = [case for suite in xml for case in suite]
    failed = {case.name for case in cases
              if any(isinstance(r, junitparser.Failure) for r in case.result)}
    assert failed == set(verdict["failed"]) and failed
    suite = next(iter(xml))
    assert suite.tests == len(cases) and suite.failures == len(failed)


def test_openmetrics_lines_parse_as_prometheus_text(tmp_path: Path, data) -> None:
    """GitLab's metrics report is the Prometheus text format: prometheus_client's own
    parser reads every line, and the values are the JSON report's."""
    from prometheus_client.parser import text_string_to_metric_families

    path, ref = data
    proc = run_losscli("check", path, "--loss", "mse", "--group-by", "region", "--ci",
                       "--replicates", "50", "--max", f"mse={ref['mse'] * 2}",
                       "--format", "openmetrics")
    text = proc.stdout.decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    values = {tuple(sorted(s.labels.items())): s.value
              for s in families["losscli_loss_value"].samples}
    assert math.isclose(values[(("loss", "mse"),)], ref["mse"], rel_tol=1e-12)
    for r, g in ref["groups"].items():
        assert math.isclose(values[(("group", f"region={r}"), ("loss", "mse"))], g["mse"],
                            rel_tol=1e-12)
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert len(lines) == sum(len(f.samples) for f in families.values())
