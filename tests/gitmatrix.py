"""The git command matrix shared by test_git_hooks_recorded.py and test_git_matrix.py.

One history, one list of cases, two flavours:

- `GitFlavor` (test_git_hooks_recorded.py, and `hook_table()` for the docs): the section
  files are tracked by git itself and every client-side hook is a small recording script,
  so running a case measures which hooks git 2.39 runs, with which arguments, and what
  state (MERGE_HEAD, CHERRY_PICK_HEAD, sequencer todo, ...) exists in the git dir then.
- the git-eosvc flavour (test_git_matrix.py): the same history recorded with
  `git eosvc add`, pushed to S3, and every case run in a clone with `git eosvc install`
  done, asserting after each plain git command that the work tree holds exactly the bytes
  its manifests list.

The history (remote branches; `Cn` etc. are the commit subjects):

    main:     C0 - C1 - C2 - C3
    base:     C0
    side:     C0 - S1 - S2          (disjoint from main: merges and rebases cleanly)
    conflict: C0 - X1               (changes data/a.txt as main does: conflicts)

Nothing here needs pytest; `hook_table()` runs the whole matrix in a temporary directory
with git's environment pinned (a throwaway HOME and global config, no system config).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# ---------------------------------------------------------------- the history

Changes = Mapping[str, "str | None"]  # path -> text, None deletes

C0: Changes = {"data/a.txt": "a0\n", "data/b.txt": "b0\n", "data/sub/c.txt": "c0\n",
               "data/keep.txt": "keep\n", "output/r.txt": "r0\n", "output/q.txt": "q0\n",
               "code.txt": "code0\n"}
C1: Changes = {"data/a.txt": "a1\n", "data/b.txt": None, "data/new1.txt": "n1\n",
               "output/r.txt": "r1\n", "output/s.txt": "s1\n"}
C2: Changes = {"data/sub/c.txt": None, "data/sub2/d.txt": "d2\n", "data/a.txt": "a2\n",
               "output/q.txt": None, "output/s.txt": "s2\n"}
C3: Changes = {"data/new1.txt": "n1 v3\n", "data/b.txt": "b3\n", "output/r.txt": "r3\n",
               "code.txt": "code3\n"}
S1: Changes = {"data/side.txt": "side1\n", "output/side.txt": "oside1\n"}
S2: Changes = {"data/keep.txt": "keep side\n", "side.md": "side notes\n"}
X1: Changes = {"data/a.txt": "a conflict\n", "output/x.txt": "x1\n"}

# (branch, parent commit subject or None, [(subject, changes), ...]); built in this order
HISTORY: tuple[tuple[str, str | None, tuple[tuple[str, Changes], ...]], ...] = (
    ("main", None, (("C0", C0), ("C1", C1), ("C2", C2), ("C3", C3))),
    ("base", "C0", ()),
    ("side", "C0", (("S1", S1), ("S2", S2))),
    ("conflict", "C0", (("X1", X1),)),
)

# `git bisect run` script: "bad" once data/a.txt holds C2's bytes (first bad commit: C2)
BISECT_SCRIPT = "#!/bin/sh\ngrep -q '^a2$' data/a.txt && exit 1\nexit 0\n"


def apply_changes(work: Path, changes: Changes) -> None:
    for rel, text in changes.items():
        path = work / rel
        if text is None:
            path.unlink()
            parent = path.parent
            while parent != work and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


# ---------------------------------------------------------------- running git


def git_env(**extra: str) -> dict[str, str]:
    """os.environ (pinned by the caller) plus a non-interactive editor."""
    return dict(os.environ, GIT_EDITOR="true", GIT_MERGE_AUTOEDIT="no", **extra)


def run_git(cwd: Path, *args: str, rc: int | None = 0, env: Mapping[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
    """The real git; `rc` is the exit code expected (None: any)."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env=dict(env) if env is not None else git_env(), stdin=subprocess.DEVNULL)
    if rc is not None and proc.returncode != rc:
        raise AssertionError(f"git {' '.join(args)} in {cwd} exited {proc.returncode}, expected {rc}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def git_out(cwd: Path, *args: str) -> str:
    return run_git(cwd, *args).stdout.strip()


@contextlib.contextmanager
def pinned_env(home: Path, extra: Mapping[str, str] | None = None) -> Iterator[Path]:
    """Pin git (and AWS/EOSVC) in os.environ to a throwaway HOME for the duration, exactly as
    conftest's `git_env` does; everything is restored afterwards. Never the user's config."""
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n"
        "[advice]\n\tdetachedHead = false\n"
        "[protocol \"file\"]\n\tallow = always\n")
    saved = dict(os.environ)
    try:
        for name in list(os.environ):
            if name.startswith(("AWS_", "EOSVC_", "GIT_")):
                del os.environ[name]
        os.environ.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                          GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1",
                          GIT_TERMINAL_PROMPT="0")
        if extra:
            os.environ.update(extra)
        yield home
    finally:
        os.environ.clear()
        os.environ.update(saved)


# ---------------------------------------------------------------- flavours


class Flavor(Protocol):
    name: str

    def commit(self, work: Path, message: str) -> None:
        """Stage everything (sections included) and commit."""

    def stage(self, work: Path, *paths: str) -> None:
        """Stage these section files (git add / git eosvc add)."""

    def install(self, work: Path) -> None:
        """Per-clone setup after a clone (recording hooks / git eosvc install)."""

    def manifest(self, section: str) -> str:
        """What to name in a path command for a section ("data" / "data.eosvc")."""

    def sync(self, work: Path) -> None:
        """Bring the work tree to a known-good state during setup (no-op / git eosvc checkout)."""


# ---------------------------------------------------------------- cases


@dataclass(frozen=True)
class Step:
    """One command of a case. `argv` runs git (in `cwd`, relative to the clone); otherwise
    `action(work, flavor)` runs (a setup-like step such as resolving a conflict)."""

    label: str
    argv: tuple[str, ...] = ()
    action: Callable[[Path, Flavor], None] | None = None
    rc: int | None = 0                 # git's expected exit code (None: any)
    check: str = "all"                 # after it: "all" sections materialised, "unconflicted", "none"
    cwd: str = "."
    verify: Callable[[subprocess.CompletedProcess[str], Path], None] | None = None


@dataclass(frozen=True)
class Case:
    id: str
    start: str                         # branch of the remote the clone starts on
    steps: tuple[Step, ...]
    prepare: tuple[Callable[[Path, Flavor], None], ...] = ()
    clone_args: tuple[str, ...] = ()
    remote: str = "repo"               # "repo" or "super" (the superproject)
    checks: tuple[str, ...] = (".",)   # work trees to check, relative to the clone
    dirty: Mapping[str, str] = field(default_factory=dict)  # local, not added (no-loss)
    flavors: tuple[str, ...] = ("git", "eosvc")


def g(label: str, *argv: str, **kw: object) -> Step:
    return Step(label, tuple(argv), **kw)  # type: ignore[arg-type]


def act(label: str, action: Callable[[Path, Flavor], None], **kw: object) -> Step:
    return Step(label, (), action, check=kw.pop("check", "none"), **kw)  # type: ignore[arg-type]


def resolve_taking_stage3(work: Path, flavor: Flavor) -> None:
    """Resolve every unmerged path with plain file writes and `git add`: stage 3 ("theirs"
    for a merge or cherry-pick, the commit being replayed for a rebase), else stage 2."""
    out = run_git(work, "ls-files", "-u", "-z").stdout
    stages: dict[str, dict[int, str]] = {}
    for rec in filter(None, out.split("\0")):
        meta, path = rec.split("\t", 1)
        _mode, oid, stage = meta.split()
        stages.setdefault(path, {})[int(stage)] = oid
    assert stages, "expected a conflict to resolve"
    for path, by_stage in stages.items():
        oid = by_stage.get(3) or by_stage[2]
        data = subprocess.run(["git", "cat-file", "blob", oid], cwd=work, capture_output=True,
                              check=True).stdout
        (work / path).write_bytes(data)
        run_git(work, "add", "--", path)


def _stage_local_change(path: str, text: str) -> Callable[[Path, Flavor], None]:
    def do(work: Path, flavor: Flavor) -> None:
        apply_changes(work, {path: text})
        flavor.stage(work, path)
    do.__name__ = f"stage {path}"
    return do


def _git_action(*argv: str) -> Callable[[Path, Flavor], None]:
    def do(work: Path, flavor: Flavor) -> None:
        run_git(work, *argv)
    do.__name__ = "git " + " ".join(argv)
    return do


def _sync(work: Path, flavor: Flavor) -> None:
    flavor.sync(work)


def _format_patch(work: Path, flavor: Flavor) -> None:
    patch = run_git(work, "format-patch", "-1", "--stdout", "origin/main~2").stdout  # C1
    (work.parent / "c1.patch").write_text(patch)


def _format_patches(work: Path, flavor: Flavor) -> None:
    patches = run_git(work, "format-patch", "--stdout", "origin/main~3..origin/main~1").stdout  # C1, C2
    (work.parent / "c1c2.patch").write_text(patches)


# `git rebase -x` script: every manifest entry's file has the listed bytes (exit 1 if stale)
BYTES_SCRIPT = """import hashlib, pathlib, sys
for m in pathlib.Path(".").glob("*.eosvc"):
    for line in m.read_text().splitlines()[1:]:
        oid, size, path = line.split(" ", 2)
        if hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest() != oid:
            sys.exit(f"stale bytes at {path} during the rebase")
"""


def _bytes_script(work: Path, flavor: Flavor) -> None:
    (work.parent / "check_bytes.py").write_text(BYTES_SCRIPT)


def _bisect_script(work: Path, flavor: Flavor) -> None:
    (work.parent / "check.sh").write_text(BISECT_SCRIPT)


def _submodule_ready(work: Path, flavor: Flavor) -> None:
    run_git(work, "submodule", "update", "--init")
    flavor.install(work / "sub")
    run_git(work, "switch", "-q", "main")  # the gitlink moves; the submodule stays behind


def _found_c2(proc: subprocess.CompletedProcess[str], work: Path) -> None:
    m = re.search(r"^([0-9a-f]{40}) is the first bad commit", proc.stdout, re.MULTILINE)
    assert m, f"git bisect run found no first bad commit:\n{proc.stdout}\n{proc.stderr}"
    c2 = git_out(work, "rev-parse", "origin/main~1")
    found = git_out(work, "log", "-1", "--format=%s", m.group(1))
    assert m.group(1) == c2, (f"git bisect run (script checks data/a.txt bytes) blamed {found}, "
                              f"not C2: the script saw stale artifact bytes at some bisect step")


CASES: tuple[Case, ...] = (
    # ------------------------------------------------------------ pull
    Case("pull-ff", "base", (g("git pull origin main (fast-forward)", "pull", "origin", "main"),)),
    Case("pull-merge", "side", (g("git pull --no-rebase origin main (true merge)",
                                  "pull", "--no-rebase", "--no-edit", "origin", "main"),)),
    Case("pull-rebase", "side", (g("git pull --rebase origin main", "pull", "--rebase", "origin", "main"),)),
    Case("pull-ff-only", "base", (g("git pull --ff-only origin main", "pull", "--ff-only", "origin", "main"),)),
    Case("pull-conflict-commit", "conflict", (
        g("git pull --no-rebase origin main (conflict)", "pull", "--no-rebase", "--no-edit", "origin", "main",
          rc=1, check="unconflicted"),
        act("resolve: write stage 3, git add", resolve_taking_stage3),
        g("git commit (concludes the conflicted pull)", "commit", "--no-edit"),
    )),
    # ------------------------------------------------------------ merge
    Case("merge-ff", "base", (g("git merge origin/main (fast-forward)", "merge", "origin/main"),)),
    Case("merge-true", "side", (g("git merge origin/main (true merge)", "merge", "--no-edit", "origin/main"),)),
    Case("merge-no-ff", "base", (g("git merge --no-ff origin/main", "merge", "--no-ff", "--no-edit", "origin/main"),)),
    Case("merge-squash-commit", "side", (
        g("git merge --squash origin/main", "merge", "--squash", "origin/main"),
        g("git commit (after merge --squash)", "commit", "--no-edit"),
    )),
    Case("merge-conflict-continue", "conflict", (
        g("git merge origin/main (conflict)", "merge", "--no-edit", "origin/main", rc=1, check="unconflicted"),
        act("resolve: write stage 3, git add", resolve_taking_stage3),
        g("git merge --continue", "merge", "--continue"),
    )),
    # ------------------------------------------------------------ rebase
    Case("rebase-clean", "side", (g("git rebase origin/main (2 commits)", "rebase", "origin/main"),)),
    Case("rebase-ff", "base", (g("git rebase origin/main (nothing to replay)", "rebase", "origin/main"),)),
    Case("rebase-conflict-continue", "conflict", (
        g("git rebase origin/main (conflict)", "rebase", "origin/main", rc=1, check="unconflicted"),
        act("resolve: write stage 3, git add", resolve_taking_stage3),
        g("git rebase --continue", "rebase", "--continue"),
    )),
    # a stop hands the work tree to the user: it must hold the stopped commit's bytes
    Case("rebase-edit-stop", "side", (
        g("git rebase -i origin/main (edit the first pick: stops)", "-c", "sequence.editor=sed -i 1s/^pick/edit/",
          "rebase", "-i", "origin/main"),
        g("git rebase --continue", "rebase", "--continue"),
    )),
    Case("rebase-exec", "side", (g("git rebase -x <check the bytes> origin/main", "rebase", "-x",
                                   f"{sys.executable} ../check_bytes.py", "origin/main"),),
         prepare=(_bytes_script,)),
    Case("rebase-autostash", "side", (g("git rebase --autostash origin/main (staged change)",
                                        "rebase", "--autostash", "origin/main"),),
         prepare=(_stage_local_change("data/side.txt", "side local\n"),)),
    # ------------------------------------------------------------ cherry-pick / revert
    Case("cherry-pick-one", "base", (g("git cherry-pick C1", "cherry-pick", "origin/main~2"),)),
    Case("cherry-pick-range", "base", (g("git cherry-pick C0..C3 (3 commits)", "cherry-pick",
                                         "origin/base..origin/main"),)),
    Case("cherry-pick-n", "base", (g("git cherry-pick -n C1", "cherry-pick", "-n", "origin/main~2"),)),
    Case("cherry-pick-conflict-continue", "conflict", (
        g("git cherry-pick C1 (conflict)", "cherry-pick", "origin/main~2", rc=1, check="unconflicted"),
        act("resolve: write stage 3, git add", resolve_taking_stage3),
        g("git cherry-pick --continue", "cherry-pick", "--continue"),
    )),
    Case("revert", "main", (g("git revert HEAD", "revert", "--no-edit", "HEAD"),)),
    Case("revert-range", "main", (g("git revert HEAD~2..HEAD (2 commits)", "revert", "--no-edit", "HEAD~2..HEAD"),)),
    # ------------------------------------------------------------ reset / stash / am
    Case("reset-hard", "main", (g("git reset --hard HEAD~2", "reset", "-q", "--hard", "HEAD~2"),)),
    Case("reset-keep", "main", (g("git reset --keep HEAD~1", "reset", "-q", "--keep", "HEAD~1"),)),
    Case("stash", "main", (g("git stash (a staged change)", "stash"),),
         prepare=(_stage_local_change("data/a.txt", "a stashed\n"),)),
    Case("stash-pop", "main", (g("git stash pop", "stash", "pop"),),
         prepare=(_stage_local_change("data/a.txt", "a stashed\n"), _git_action("stash"))),
    Case("am", "base", (g("git am (format-patch of C1)", "am", "../c1.patch"),), prepare=(_format_patch,)),
    Case("am-two-patches", "base", (g("git am (format-patch of C1, C2)", "am", "../c1c2.patch"),),
         prepare=(_format_patches,)),
    Case("commit-amend", "main", (g("git commit --amend (a staged change)", "commit", "--amend", "--no-edit"),),
         prepare=(_stage_local_change("data/a.txt", "a amended\n"),)),
    # ------------------------------------------------------------ checkout / switch / restore
    Case("checkout-rev", "main", (g("git checkout HEAD~2 (detach)", "checkout", "-q", "HEAD~2"),)),
    Case("switch", "main", (g("git switch base", "switch", "-q", "base"),)),
    Case("checkout-path-data", "main", (g("git checkout HEAD~1 -- <data manifest>", "checkout", "HEAD~1", "--",
                                          "@data"),)),
    Case("checkout-path-output", "main", (g("git checkout HEAD~3 -- <output manifest>", "checkout", "HEAD~3",
                                            "--", "@output"),)),
    Case("restore-source", "main", (g("git restore --source HEAD~1 <data manifest>", "restore", "--source",
                                      "HEAD~1", "@data"),)),
    Case("restore-source-staged", "main", (g("git restore --source HEAD~2 --staged --worktree <output manifest>",
                                             "restore", "--source", "HEAD~2", "--staged", "--worktree",
                                             "@output"),)),
    Case("worktree-add", "main", (g("git worktree add ../wt origin/side", "worktree", "add", "-q", "../wt",
                                    "origin/side"),), checks=(".", "../wt")),
    # ------------------------------------------------------------ bisect
    Case("bisect", "main", (
        g("git bisect start", "bisect", "start"),
        g("git bisect bad", "bisect", "bad"),
        g("git bisect good C0", "bisect", "good", "origin/base"),
        g("git bisect bad (mid-bisect checkout)", "bisect", "bad"),
        g("git bisect good (last step)", "bisect", "good"),
        g("git bisect reset", "bisect", "reset"),
    )),
    Case("bisect-run", "main", (
        g("git bisect start C3 C0", "bisect", "start", "origin/main", "origin/base"),
        g("git bisect run sh check.sh (checks data/a.txt)", "bisect", "run", "sh", "../check.sh",
          verify=_found_c2),
    ), prepare=(_bisect_script,)),
    # ------------------------------------------------------------ submodule / sparse / shallow / partial
    Case("submodule-update", "old", (g("git submodule update", "submodule", "update"),),
         prepare=(_submodule_ready,), remote="super", checks=("sub",)),
    Case("sparse-no-cone", "base", (
        g("git sparse-checkout set --no-cone (without output manifest)", "sparse-checkout", "set", "--no-cone",
          "/*", "!/@output"),
        g("git pull origin main (sparse)", "pull", "origin", "main"),
    )),
    Case("sparse-disable-after-pull", "base", (
        g("git sparse-checkout set --no-cone (without output manifest)", "sparse-checkout", "set", "--no-cone",
          "/*", "!/@output"),
        g("git pull origin main (sparse)", "pull", "origin", "main"),
        g("git sparse-checkout disable (the output manifest comes back)", "sparse-checkout", "disable"),
    )),
    Case("shallow-pull", "base", (g("git pull --ff-only origin main (shallow clone)",
                                    "pull", "--ff-only", "origin", "main"),), clone_args=("--depth", "1")),
    Case("partial-checkout", "main", (g("git checkout HEAD~2 (partial clone, blob:none)",
                                        "checkout", "-q", "HEAD~2"),), clone_args=("--filter=blob:none",)),
    # ------------------------------------------------------------ no local work lost (eosvc only)
    Case("no-loss-pull", "base", (g("git pull origin main (local edit)", "pull", "origin", "main"),),
         dirty={"data/a.txt": "my unsaved edit\n"}, flavors=("eosvc",)),
    Case("no-loss-reset-hard", "main", (g("git reset --hard HEAD~1 (local edit)", "reset", "-q", "--hard",
                                          "HEAD~1"),),
         dirty={"data/new1.txt": "my unsaved edit\n"}, flavors=("eosvc",)),
    # the stash takes back a staged new1.txt (and extra.txt); new1.txt was edited again since
    Case("no-loss-stash", "main", (g("git stash (local edit not added)", "stash"),),
         prepare=(_stage_local_change("data/extra.txt", "extra\n"),
                  _stage_local_change("data/new1.txt", "n1 staged\n")),
         dirty={"data/new1.txt": "my unsaved edit\n"}, flavors=("eosvc",)),
)


def cases_for(flavor: str) -> list[Case]:
    return [c for c in CASES if flavor in c.flavors]


def step_argv(step: Step, flavor: Flavor) -> list[str]:
    """`@data` / `@output` name the section's manifest in the flavour (a path for path commands)."""
    out = []
    for a in step.argv:
        for section in ("data", "output"):
            a = a.replace(f"@{section}", flavor.manifest(section))
        out.append(a)
    return out


def check_clone_kind(case: Case, work: Path) -> None:
    """The setup is what the case says: a shallow clone is shallow, a partial clone partial."""
    if any(a.startswith("--depth") for a in case.clone_args):
        assert git_out(work, "rev-parse", "--is-shallow-repository") == "true", f"{case.id}: not shallow"
    if any(a.startswith("--filter") for a in case.clone_args):
        assert git_out(work, "config", "remote.origin.promisor") == "true", f"{case.id}: not a partial clone"


def start_case(case: Case, flavor: Flavor, remote_url: str, where: Path) -> Path:
    """Clone `case.start`, install, prepare. Returns the clone (`where/w`)."""
    where.mkdir(parents=True, exist_ok=True)
    run_git(where, "clone", "-q", *case.clone_args, "-b", case.start, remote_url, "w")
    work = where / "w"
    check_clone_kind(case, work)
    flavor.install(work)
    prepare_case(case, flavor, work)
    return work


def prepare_case(case: Case, flavor: Flavor, work: Path) -> None:
    for prep in case.prepare:
        prep(work, flavor)


def build_history(author: Path, flavor: Flavor) -> dict[str, str]:
    """Commit HISTORY in `author` (branch main checked out at the end); subject -> sha."""
    shas: dict[str, str] = {}
    for branch, parent, commits in HISTORY:
        if parent is not None:
            run_git(author, "checkout", "-q", "-b", branch, shas[parent])
            flavor.sync(author)
        for subject, changes in commits:
            apply_changes(author, changes)
            flavor.commit(author, subject)
            shas[subject] = git_out(author, "rev-parse", "HEAD")
    run_git(author, "checkout", "-q", "main")
    flavor.sync(author)
    return shas


def build_superproject(where: Path, sub_url: str, shas: Mapping[str, str]) -> Path:
    """A superproject: branch `old` has the submodule `sub` at C0, `main` at C3."""
    sup = where / "super-author"
    sup.mkdir()
    run_git(sup, "init", "-q")
    (sup / "README").write_text("superproject\n")
    run_git(sup, "add", "README")
    run_git(sup, "submodule", "add", "-q", sub_url, "sub")
    run_git(sup / "sub", "checkout", "-q", shas["C0"])
    run_git(sup, "add", "sub")
    run_git(sup, "commit", "-q", "-m", "sub at C0")
    run_git(sup, "branch", "old")
    run_git(sup / "sub", "checkout", "-q", shas["C3"])
    run_git(sup, "add", "sub")
    run_git(sup, "commit", "-q", "-m", "sub at C3")
    return sup


def bare_remote(path: Path) -> str:
    """A bare repository that serves partial clones; its file:// URL (so --depth and
    --filter are honoured: git ignores them for plain-path clones)."""
    run_git(path.parent, "init", "-q", "--bare", str(path))
    run_git(path, "config", "uploadpack.allowFilter", "true")
    run_git(path, "config", "uploadpack.allowAnySHA1InWant", "true")
    return path.as_uri()


# ---------------------------------------------------------------- recording hooks (GitFlavor)

RECORDED_HOOKS = ("applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit",
                  "prepare-commit-msg", "commit-msg", "post-commit", "pre-rebase", "post-checkout",
                  "post-merge", "pre-push", "post-rewrite", "post-index-change")
# not recorded: reference-transaction (fires for every ref update: noise), pre-auto-gc,
# push-to-checkout / receive-side hooks (server side), sendemail-validate, fsmonitor-watchman

STATE_NAMES = ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "REBASE_HEAD", "BISECT_LOG", "SQUASH_MSG",
               "rebase-merge", "rebase-apply", "sequencer/todo")

_RECORDER = r"""#!/bin/sh
# gitmatrix recording hook: appends one JSON line per run to the log, changes nothing
hook='@HOOK@'
log='@LOG@'
gd=$(git rev-parse --absolute-git-dir 2>/dev/null)
state=''
for n in @STATE@; do
  if [ -e "$gd/$n" ]; then state="$state\"$n\","; fi
done
count() { if [ -f "$1" ]; then grep -Ecv '^[[:space:]]*(#|$)' "$1"; else echo null; fi; }
rtodo=$(count "$gd/rebase-merge/git-rebase-todo")
stodo=$(count "$gd/sequencer/todo")
am=null
if [ -f "$gd/rebase-apply/next" ] && [ -f "$gd/rebase-apply/last" ]; then
  am="\"$(cat "$gd/rebase-apply/next")/$(cat "$gd/rebase-apply/last")\""
fi
stdin=null
case "$hook" in pre-push|post-rewrite) stdin=$(wc -l | tr -d ' ') ;; esac
args=''
for a in "$@"; do
  a=$(printf '%s' "$a" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
  args="$args\"$a\","
done
head=$(git rev-parse -q --verify HEAD 2>/dev/null)
printf '{"hook":"%s","args":[%s],"state":[%s],"rebase_todo":%s,"sequencer_todo":%s,"am":%s,"stdin_lines":%s,"git_dir":"%s","head":"%s"}\n' \
  "$hook" "${args%,}" "${state%,}" "$rtodo" "$stodo" "$am" "$stdin" "$gd" "$head" >> "$log"
exit 0
"""


@dataclass(frozen=True)
class HookRun:
    hook: str
    args: tuple[str, ...]
    state: frozenset[str]
    rebase_todo: int | None     # non-comment lines in rebase-merge/git-rebase-todo (None: no file)
    sequencer_todo: int | None  # non-comment lines in sequencer/todo (None: no file)
    am: str | None              # rebase-apply/next "/" rebase-apply/last while `git am` runs
    stdin_lines: int | None
    git_dir: str
    head: str


def install_recorders(work: Path, log: Path) -> Path:
    """Recording scripts for every hook in RECORDED_HOOKS, in `git rev-parse --git-path hooks`."""
    hooks = Path(git_out(work, "rev-parse", "--git-path", "hooks"))
    hooks = hooks if hooks.is_absolute() else work / hooks
    hooks.mkdir(parents=True, exist_ok=True)
    for name in RECORDED_HOOKS:
        script = (_RECORDER.replace("@HOOK@", name).replace("@LOG@", str(log))
                  .replace("@STATE@", " ".join(STATE_NAMES)))
        (hooks / name).write_text(script)
        (hooks / name).chmod(0o755)
    return hooks


def read_log(log: Path) -> list[HookRun]:
    runs: list[HookRun] = []
    if not log.exists():
        return runs
    for line in log.read_text().splitlines():
        d = json.loads(line)
        runs.append(HookRun(d["hook"], tuple(d["args"]), frozenset(d["state"]), d["rebase_todo"],
                            d["sequencer_todo"], d["am"], d["stdin_lines"], d["git_dir"], d["head"]))
    return runs


class GitFlavor:
    """Section files tracked by git itself; every hook records into one log."""

    name = "git"

    def __init__(self, log: Path) -> None:
        self.log = log

    def commit(self, work: Path, message: str) -> None:
        run_git(work, "add", "-A")
        run_git(work, "commit", "-q", "-m", message)

    def stage(self, work: Path, *paths: str) -> None:
        run_git(work, "add", "--", *paths)

    def install(self, work: Path) -> None:
        install_recorders(work, self.log)

    def manifest(self, section: str) -> str:
        return section

    def sync(self, work: Path) -> None:
        pass


@dataclass
class StepRecord:
    case: str
    index: int
    label: str
    runs: list[HookRun]
    names: dict[str, str]      # sha -> readable name (C0..C3, S1, ..., new(...))
    main_git_dir: str
    rc: int | None


def record_cases(root: Path, cases: Sequence[Case] | None = None) -> dict[str, list[StepRecord]]:
    """Build the history, run every git-flavour case with recording hooks; case id -> steps.
    Runs under the caller's environment (pin it first: `pinned_env` or conftest's git_env)."""
    root.mkdir(parents=True, exist_ok=True)
    log = root / "hooks.log"
    flavor = GitFlavor(log)
    author = root / "author"
    author.mkdir()
    run_git(author, "init", "-q")
    shas = build_history(author, flavor)
    url = bare_remote(root / "remote.git")
    run_git(author, "push", "-q", url, "main", "base", "side", "conflict")
    sup = build_superproject(root, url, shas)
    super_url = bare_remote(root / "super.git")
    run_git(sup, "push", "-q", super_url, "main", "old")
    urls = {"repo": url, "super": super_url}

    out: dict[str, list[StepRecord]] = {}
    for case in cases if cases is not None else cases_for("git"):
        where = root / "cases" / case.id
        work = start_case(case, flavor, urls[case.remote], where)
        main_git_dir = git_out(work, "rev-parse", "--absolute-git-dir")
        records = []
        for i, step in enumerate(case.steps):
            log.write_text("")
            rc = None
            if step.action is not None:
                step.action(work, flavor)
            else:
                rc = run_git(work / step.cwd, *step_argv(step, flavor), rc=step.rc).returncode
            runs = read_log(log)
            records.append(StepRecord(case.id, i, step.label, runs, _names(shas, runs),
                                      main_git_dir, rc))
        out[case.id] = records
    return out


def _names(shas: Mapping[str, str], runs: Sequence[HookRun]) -> dict[str, str]:
    names = {sha: subject for subject, sha in shas.items()}
    names["0" * 40] = "0000"
    for run in runs:
        for a in (*run.args, run.head):
            if re.fullmatch(r"[0-9a-f]{40}", a) and a not in names:
                subject = subprocess.run(["git", "log", "-1", "--format=%s", a], cwd=run.git_dir,
                                         capture_output=True, text=True, check=False).stdout.strip()
                names[a] = f"new({subject.split()[0] if subject else '?'})"
    return names


def describe(run: HookRun, names: Mapping[str, str], main_git_dir: str) -> str:
    """`post-merge 0 [MERGE_HEAD]`: the hook, its arguments (commits by name), the state."""
    args = [names.get(a, a) for a in run.args]
    if run.hook == "pre-push" and len(args) == 2:
        args = [args[0], "<url>"]
    text = " ".join([run.hook, *args])
    if run.stdin_lines is not None:
        text += f" <{run.stdin_lines} stdin line(s)>"
    state = sorted(run.state - {"rebase-merge", "sequencer/todo"})
    if "rebase-merge" in run.state:
        state.append(f"rebase-merge todo:{run.rebase_todo}" if run.rebase_todo is not None else "rebase-merge")
    if "sequencer/todo" in run.state:
        state.append(f"sequencer/todo:{run.sequencer_todo}")
    if run.am is not None:
        state.append(f"am {run.am}")
    if state:
        text += " [" + ", ".join(state) + "]"
    if run.git_dir != main_git_dir:
        where = run.git_dir.split("/.git/", 1)[-1] if "/.git/" in run.git_dir else run.git_dir
        text += f" (in {where})"
    return text


def hooks_of(record: StepRecord) -> list[str]:
    """The step's hook runs, described; consecutive identical runs collapsed as `×n`."""
    out: list[str] = []
    counts: list[int] = []
    for run in record.runs:
        d = describe(run, record.names, record.main_git_dir)
        if out and out[-1] == d:
            counts[-1] += 1
        else:
            out.append(d)
            counts.append(1)
    return [d if n == 1 else f"{d} ×{n}" for d, n in zip(out, counts)]


def hook_table(recorded: Mapping[str, Sequence[StepRecord]] | None = None) -> list[tuple[str, list[str]]]:
    """(command, hooks git ran, with arguments and git-dir state) for every step of the
    matrix. Without `recorded`, runs the matrix now in a temporary directory, with git's
    environment pinned to a throwaway HOME."""
    if recorded is None:
        with tempfile.TemporaryDirectory(prefix="gitmatrix-") as tmp, pinned_env(Path(tmp) / "home"):
            recorded = record_cases(Path(tmp) / "run")
    rows = []
    for records in recorded.values():
        for rec in records:
            if rec.rc is None:  # a resolution by file writes and `git add`: not a command under test
                label = rec.label
            else:
                label = rec.label if rec.rc == 0 else f"{rec.label} (exit {rec.rc})"
            # index-only refreshes: git runs them a varying number of times (racy timestamps)
            rows.append((label, [h for h in hooks_of(rec) if not h.startswith("post-index-change 0 0")]))
    return rows


def table_markdown(rows: Sequence[tuple[str, Sequence[str]]], git_version: str) -> str:
    lines = [f"<!-- generated by tests/test_git_hooks_recorded.py ({git_version}); do not edit -->",
             "",
             "Index-only refreshes (`post-index-change 0 0`), which git runs a varying number of times,",
             "are left out.",
             "",
             "| command | hooks git runs, in order (arguments; state in the git dir while the hook runs) |",
             "| --- | --- |"]
    for command, hooks in rows:
        cell = "<br>".join(f"`{h}`" for h in hooks) if hooks else "(none)"
        lines.append(f"| `{command}` | {cell} |")
    return "\n".join(lines) + "\n"
