"""``check --baseline git:REF:PATH`` and ``git:merge-base:PATH`` (issue 22, item 1), against
real git repositories built here (commits, a branch, a merge base, a shallow clone), through
the real CLI. Every failure is one line on stderr, exit 2."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_losscli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

BASELINE = "metrics/baseline.json"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()


def _csv(path: Path, pred: np.ndarray, target: np.ndarray) -> Path:
    path.write_text("pred,target\n" + "".join(f"{p!r},{t!r}\n" for p, t in
                                              zip(pred.tolist(), target.tolist())))
    return path


def _commit_baseline(repo: Path, report: bytes, message: str) -> str:
    (repo / "metrics").mkdir(exist_ok=True)
    (repo / BASELINE).write_bytes(report)
    git(repo, "add", BASELINE)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two models (good, bad) and a repository: c1 on main holds the good model's report,
    branch feature (from c1) and main (c2) both move on to the bad model's report; HEAD is
    feature, so the merge base with main is c1."""
    tmp = tmp_path_factory.mktemp("git")
    rng = np.random.default_rng(7)
    target = rng.normal(size=300)
    good = _csv(tmp / "good.csv", target + 0.3 * rng.normal(size=300), target)
    bad_pred = target + 1.0 * rng.normal(size=300)
    bad = _csv(tmp / "bad.csv", bad_pred, target)
    good_pred = np.loadtxt(good, delimiter=",", skiprows=1)[:, 0]
    reports = {}
    for name, path in (("good", good), ("bad", bad)):
        proc = run_losscli("eval", path, "--loss", "mse", "--format", "json")
        assert proc.returncode == 0, proc.stderr
        reports[name] = proc.stdout
    repo = tmp / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    c1 = _commit_baseline(repo, reports["good"], "baseline: good model")
    git(repo, "checkout", "-q", "-b", "feature")
    feature = _commit_baseline(repo, reports["bad"], "baseline: bad model on feature")
    git(repo, "checkout", "-q", "main")
    c2 = _commit_baseline(repo, reports["bad"] + b"\n", "baseline: bad model on main")
    git(repo, "checkout", "-q", "feature")
    return {"tmp": tmp, "repo": repo, "good": good, "bad": bad, "c1": c1, "c2": c2,
            "feature": feature, "reports": reports,
            "mse_good": float(np.mean((good_pred - target) ** 2)),
            "mse_bad": float(np.mean((bad_pred - target) ** 2))}


ENV = {"GITHUB_BASE_REF": "", "GITHUB_ACTIONS": ""}


def check(world: dict, spec: str, *extra: str, cwd: Path | None = None,
          env: dict | None = None) -> subprocess.CompletedProcess:
    return run_losscli("check", world["bad"], "--baseline", spec, "--format", "json", *extra,
                       cwd=cwd or world["repo"], env={**ENV, **(env or {})})


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    return lines[0]


def test_merge_base_reads_the_baseline_of_the_common_ancestor(world: dict) -> None:
    """On feature, the merge base with main is c1 (the good model's report): the bad model
    fails against it; the report records c1."""
    assert world["mse_bad"] > world["mse_good"]
    proc = check(world, f"git:merge-base:{BASELINE}")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["baseline"]["commit"] == world["c1"]
    assert math.isclose(doc["checks"][0]["baseline"], world["mse_good"], rel_tol=1e-9)
    assert math.isclose(doc["checks"][0]["value"], world["mse_bad"], rel_tol=1e-9)
    # --base-ref names the branch explicitly: the same merge base
    proc = check(world, f"git:merge-base:{BASELINE}", "--base-ref", "main")
    assert json.loads(proc.stdout)["baseline"]["commit"] == world["c1"]


def test_the_html_page_names_the_baselines_commit(world: dict, tmp_path: Path) -> None:
    page = tmp_path / "check.html"
    proc = check(world, f"git:merge-base:{BASELINE}", "--html", str(page))
    assert proc.returncode == 1, proc.stderr
    assert f"(commit <code>{world['c1'][:12]}</code>)" in page.read_text()


def test_named_refs(world: dict) -> None:
    head = check(world, f"git:HEAD:{BASELINE}")  # the bad model's own report: passes
    assert head.returncode == 0, head.stderr
    assert json.loads(head.stdout)["baseline"]["commit"] == world["feature"]
    main = check(world, f"git:main:{BASELINE}")
    assert main.returncode == 0 and json.loads(main.stdout)["baseline"]["commit"] == world["c2"]
    prev = check(world, f"git:HEAD~1:{BASELINE}")
    assert prev.returncode == 1 and json.loads(prev.stdout)["baseline"]["commit"] == world["c1"]
    by_hash = check(world, f"git:{world['c1'][:10]}:{BASELINE}")
    assert by_hash.returncode == 1
    # the table names the commit too
    proc = run_losscli("check", world["bad"], "--baseline", f"git:main:{BASELINE}",
                       cwd=world["repo"], env=ENV)
    assert world["c2"][:12] in proc.stdout.decode()


def test_default_branch_without_main(world: dict, tmp_path: Path) -> None:
    repo = tmp_path / "trunk"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "trunk")
    base = _commit_baseline(repo, world["reports"]["good"], "good")
    git(repo, "checkout", "-q", "-b", "topic")
    err = one_line_error(check(world, f"git:merge-base:{BASELINE}", cwd=repo))
    assert "no default branch" in err and "--base-ref" in err
    proc = check(world, f"git:merge-base:{BASELINE}", "--base-ref", "trunk", cwd=repo)
    assert proc.returncode == 1 and json.loads(proc.stdout)["baseline"]["commit"] == base
    # GITHUB_BASE_REF (a pull request's target in GitHub Actions) is the default branch
    proc = check(world, f"git:merge-base:{BASELINE}", cwd=repo,
                 env={"GITHUB_BASE_REF": "trunk"})
    assert proc.returncode == 1 and json.loads(proc.stdout)["baseline"]["commit"] == base


def test_errors_are_one_line(world: dict, tmp_path: Path) -> None:
    err = one_line_error(check(world, f"git:nope:{BASELINE}"))
    assert "no commit 'nope'" in err
    err = one_line_error(check(world, "git:main:metrics/missing.json"))
    assert "'metrics/missing.json' does not exist at main" in err
    err = one_line_error(check(world, "git:main:metrics"))
    assert "not a file" in err
    err = one_line_error(check(world, "git:main"))
    assert "git:REF:PATH" in err
    err = one_line_error(check(world, f"git:merge-base:{BASELINE}", "--base-ref", "nope"))
    assert "--base-ref 'nope'" in err
    err = one_line_error(check(world, f"git:main:{BASELINE}", "--base-ref", "main"))
    assert "--base-ref" in err
    outside = tmp_path / "plain"
    outside.mkdir()
    err = one_line_error(check(world, f"git:main:{BASELINE}", cwd=outside,
                               env={"GIT_CEILING_DIRECTORIES": str(tmp_path)}))
    assert "not inside a git repository" in err
    empty = tmp_path / "bin"
    empty.mkdir()
    err = one_line_error(check(world, f"git:main:{BASELINE}", env={"PATH": str(empty)}))
    assert "git executable was not found" in err


def test_shallow_clone_says_fetch_depth(world: dict, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{world['repo']}", str(clone))
    ok = check(world, f"git:HEAD:{BASELINE}", cwd=clone)  # what the clone has works
    assert ok.returncode == 0 and json.loads(ok.stdout)["baseline"]["commit"] == world["feature"]
    err = one_line_error(check(world, f"git:HEAD~1:{BASELINE}", cwd=clone))
    assert "shallow clone" in err and "fetch-depth: 0" in err
    err = one_line_error(check(world, f"git:merge-base:{BASELINE}", "--base-ref", "origin/main",
                               cwd=clone))
    assert "shallow clone" in err and "fetch-depth: 0" in err
    # after fetching the history, the merge base is found
    git(clone, "fetch", "-q", "--unshallow", "origin", "+refs/heads/*:refs/remotes/origin/*")
    proc = check(world, f"git:merge-base:{BASELINE}", "--base-ref", "origin/main", cwd=clone)
    assert proc.returncode == 1 and json.loads(proc.stdout)["baseline"]["commit"] == world["c1"]


def test_existing_file_named_like_a_git_spec_is_literal(world: dict, tmp_path: Path) -> None:
    literal = tmp_path / "git:x:y.json"
    literal.write_bytes(world["reports"]["bad"])
    proc = check(world, literal.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["baseline"]["commit"] is None


def test_the_ci_pages_local_walkthrough_runs():
    """docs/ci.md's "Try it locally" script (a ```bash block: several lines that belong
    together) runs as written from the repository root: a git baseline, a failing check,
    JUnit read back — the failure counted in the XML is the verdict's."""
    import re
    import sys

    from tests.conftest import ROOT

    page = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    script = re.search(r"```bash\n(S=\$PWD/sample_data.*?)```", page, re.S)
    assert script is not None, "the walkthrough block moved"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", script.group(1)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "check failed (exit 1)" in proc.stdout
    summary = re.search(r"(\d+) tests, (\d+) failures", proc.stdout)
    assert summary is not None and int(summary.group(2)) >= 1, proc.stdout
    assert "FAIL: " in proc.stdout
