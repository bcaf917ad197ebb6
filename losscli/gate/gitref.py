"""Baselines from git: ``--baseline git:REF:PATH`` reads a committed report (or saved
state) at any revision — ``git:main:metrics/baseline.json``, ``git:HEAD~1:…``,
``git:v1.2:…`` — and ``git:merge-base:PATH`` at the merge base of ``HEAD`` with the
default branch (or ``--base-ref``), through the ``git`` executable (``git show``,
``git merge-base``), in the repository of the current folder.

``PATH`` is as git reads it after ``REF:``: relative to the repository's top folder
(``./PATH`` relative to the current folder). Every way this can fail — git missing, no
repository, an unknown ref, a path absent at that commit, a shallow clone without the
ref — is one :class:`~losscli.errors.InputError` (exit 2) saying how to fix it (for a
shallow clone in CI: ``fetch-depth: 0``).

Standard library only; git runs only when a ``git:`` baseline is given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from losscli.errors import InputError, UsageError

#: The prefix of a baseline read from git, and the ref meaning "the merge base".
PREFIX, MERGE_BASE = "git:", "merge-base"
#: The branches tried, in order, when no --base-ref is given and origin/HEAD is not set.
DEFAULT_BRANCHES = ("origin/main", "main", "origin/master", "master")
SHALLOW_FIX = ("fetch the history: in GitHub Actions give actions/checkout 'fetch-depth: 0', "
               "in GitLab CI set GIT_DEPTH: 0, elsewhere run 'git fetch --unshallow'")


@dataclass(frozen=True)
class GitFile:
    """A file read from git: its bytes, the commit it was read at (full hash) and the ref
    as the user named it (``main``, ``merge-base of HEAD and origin/main``)."""

    data: bytes
    commit: str
    ref: str


def is_git_spec(spec: str) -> bool:
    """Whether ``--baseline SPEC`` names a file in git (an existing file of that name is
    read as itself: an existing path is literal)."""
    return spec.startswith(PREFIX) and not os.path.exists(spec)


def parse_spec(spec: str) -> tuple[str, str]:
    """``git:REF:PATH`` → (REF, PATH). A ref cannot hold ``:`` (git check-ref-format), so
    the first ``:`` after the ref ends it."""
    rest = spec[len(PREFIX):]
    ref, sep, path = rest.partition(":")
    if not sep or not ref or not path:
        raise UsageError(f"--baseline '{spec}': expected git:REF:PATH (e.g. "
                         "git:main:metrics/baseline.json, git:HEAD~1:baseline.json or "
                         "git:merge-base:baseline.json).")
    return ref, path


class Git:
    """The ``git`` executable in the repository of ``cwd``."""

    def __init__(self, spec: str, cwd: str | None = None, where: str | None = None,
                 instead: str = ", or give the baseline as a file") -> None:
        self.spec = spec
        #: how messages name what the user gave, and the way around git (``losscli history
        #: 'PATH'`` reuses this class: it has none)
        self.where, self.instead = where or f"--baseline '{spec}'", instead
        self.cwd = cwd or os.getcwd()
        exe = shutil.which("git")
        if exe is None:
            raise InputError(f"{self.where}: the git executable was not found on PATH; "
                             f"install git{self.instead}.")
        self.exe = exe
        done = self.run("rev-parse", "--show-toplevel")
        if done.returncode != 0:
            raise InputError(f"{self.where}: '{self.cwd}' is not inside a git repository "
                             "(git rev-parse failed); run losscli in the repository's checkout"
                             f"{self.instead}.")
        self.top = done.stdout.decode("utf-8", "replace").strip()
        self.shallow = self.run("rev-parse", "--is-shallow-repository").stdout.strip() == b"true"

    def run(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """``git ARGS`` in the repository (``input``: its standard input, else none)."""
        try:
            return subprocess.run([self.exe, *args], cwd=self.cwd, capture_output=True,
                                  input=input,
                                  stdin=subprocess.DEVNULL if input is None else None,
                                  timeout=120,
                                  env={**os.environ, "GIT_TERMINAL_PROMPT": "0",
                                       "LC_ALL": "C"})
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError(f"{self.where}: running git failed: {exc}.") from None

    def commit_of(self, ref: str) -> str | None:
        if ref.startswith("-"):  # never an option of git
            return None
        done = self.run("rev-parse", "--verify", "--quiet", "--end-of-options",
                        f"{ref}^{{commit}}")
        return done.stdout.decode().strip() if done.returncode == 0 else None

    def missing_ref(self, ref: str, what: str = "") -> InputError:
        if self.shallow:
            return InputError(f"{self.where}: {what or repr(ref)} is not in this "
                              f"shallow clone of '{self.top}'; {SHALLOW_FIX}.")
        return InputError(f"{self.where}: no commit {what or repr(ref)} in the "
                          f"repository '{self.top}'; check the branch, tag or hash (git branch "
                          "-a, git log --oneline), or fetch it.")

    def default_branch(self) -> str:
        """The branch a merge base is taken with: the PR's target in GitHub Actions
        (``GITHUB_BASE_REF``), else the remote's default branch (``origin/HEAD``), else
        main or master."""
        tried = []
        base = os.environ.get("GITHUB_BASE_REF")
        if base:
            tried += [f"origin/{base}", base]
        done = self.run("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
        if done.returncode == 0:
            tried.append(done.stdout.decode().strip().removeprefix("refs/remotes/"))
        tried += DEFAULT_BRANCHES
        for ref in tried:
            if self.commit_of(ref) is not None:
                return ref
        shallow = f" (a shallow clone: {SHALLOW_FIX})" if self.shallow else ""
        raise InputError(f"{self.where}: no default branch found in "
                         f"'{self.top}' (tried {', '.join(dict.fromkeys(tried))}){shallow}; "
                         "name it with --base-ref BRANCH.")

    def merge_base(self, base_ref: str | None) -> tuple[str, str]:
        ref = base_ref or self.default_branch()
        if self.commit_of(ref) is None:
            raise self.missing_ref(ref, f"--base-ref {ref!r}")
        if self.commit_of("HEAD") is None:
            raise InputError(f"{self.where}: the repository '{self.top}' has no "
                             "commit yet (HEAD); commit first.")
        done = self.run("merge-base", "--end-of-options", "HEAD", ref)
        if done.returncode != 0:
            why = (f"in this shallow clone; {SHALLOW_FIX}" if self.shallow else
                   "the histories share no commit; give a ref with git:REF:PATH")
            raise InputError(f"{self.where}: no merge base of HEAD and {ref} "
                             f"{why}.")
        return done.stdout.decode().strip(), f"merge-base of HEAD and {ref}"

    def show(self, commit: str, path: str, ref: str, limit: int) -> bytes:
        obj = f"{commit}:{path}"
        size = self.run("cat-file", "-s", obj)
        if size.returncode != 0:
            raise InputError(f"{self.where}: '{path}' does not exist at {ref} "
                             f"(commit {commit[:12]}); the path is relative to the "
                             f"repository's top folder '{self.top}' (./PATH: to the current "
                             f"folder); see git ls-tree -r --name-only {commit[:12]}.")
        kind = self.run("cat-file", "-t", obj).stdout.strip()
        if kind != b"blob":
            raise InputError(f"{self.where}: '{path}' at {ref} is a "
                             f"{kind.decode() or 'non-file'}, not a file; give a report JSON "
                             "file.")
        if int(size.stdout.strip() or 0) > limit:
            raise InputError(f"{self.where} is larger than {limit >> 20} MiB: not "
                             "a losscli report (one is a few kB).")
        done = self.run("cat-file", "blob", obj)
        if done.returncode != 0:
            raise InputError(f"{self.where}: git could not read '{path}' at "
                             f"{ref}: {done.stderr.decode('utf-8', 'replace').strip()}.")
        return done.stdout


def read_git_file(spec: str, *, base_ref: str | None = None, limit: int,
                  cwd: str | None = None) -> GitFile:
    """The bytes of ``git:REF:PATH`` (or ``git:merge-base:PATH``), the commit they were
    read at and the ref in words; at most ``limit`` bytes."""
    ref, path = parse_spec(spec)
    git = Git(spec, cwd)
    if ref == MERGE_BASE:
        commit, words = git.merge_base(base_ref)
    else:
        found = git.commit_of(ref)
        if found is None:
            raise git.missing_ref(ref)
        commit, words = found, ref
    return GitFile(git.show(commit, path, words, limit), commit, words)
