"""Git access through the real `git` binary, so git's rules hold exactly (GIT_DIR, `-C`, `-c`,
GIT_CONFIG_*, worktrees, partial clones, SHA-256). Objects come from two long-lived `git cat-file`
processes per Repo (`--batch`, `--batch-check`), as in Git LFS; any other query is one git call."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Sequence, TYPE_CHECKING, Iterable, Literal

from .errors import ManifestError, OperationError, UsageError
from .hashing import is_object_id
from .gitproc import CatFile, GitObject, absolutize_git_env, git_said, run_git

_TREE, _GITLINK, _FMT = 0o040000, 0o160000, 0o170000  # tree entry modes

if TYPE_CHECKING:
    from .manifest import Manifest


@dataclass
class CommitInfo:
    """A commit's id, root tree and parents (as git sees them: shallow commits have none)."""

    id: str
    tree_id: str
    parent_ids: list[str]


def _lines(out: bytes) -> list[str]:
    return [os.fsdecode(x) for x in out.split(b"\n") if x]


def _is_blob_mode(mode: int) -> bool:
    return bool(mode) and mode & _FMT not in (_TREE, _GITLINK)


class Repo:
    """One git work tree (linked worktrees share `common_dir`), read through the git binary."""

    def __init__(self, git_dir: Path, workdir: Path, common_dir: Path | None = None) -> None:
        self.git_dir = git_dir
        self.workdir = workdir
        if common_dir is None:
            pointer = git_dir / "commondir"
            common_dir = (git_dir / pointer.read_text().strip()).resolve() if pointer.is_file() else git_dir
        self.common_dir: Path = common_dir
        self._batch, self._check = CatFile("--batch"), CatFile("--batch-check")
        self._trees: dict[str, dict[bytes, tuple[int, str]]] = {}

    @classmethod
    def discover(cls, start: Path | None = None) -> Repo:
        """The repository git finds from `start` (default: the cwd); see absolutize_git_env."""
        start_dir = Path(start or Path.cwd())
        absolutize_git_env()
        try:
            proc = run_git(["rev-parse", "--absolute-git-dir", "--path-format=absolute", "--git-common-dir",
                            "--is-bare-repository", "--show-toplevel"], start_dir, check=False)
            lines, err = _lines(proc.stdout), git_said(proc.stderr)
        except OperationError as exc:
            lines, err = [], str(exc)
        if len(lines) < 3:
            hint = (f"{err}\n" if err and "not a git repository" not in err else "") + \
                "run this inside a clone (or `git eosvc clone NAME`)"
            raise UsageError(f"not a git repository: {start_dir}", hint=hint)
        if lines[2] == "true" or len(lines) < 4:
            raise UsageError("git-eosvc needs a work tree; this is a bare repository")
        return cls(Path(lines[0]).resolve(), Path(lines[3]).resolve(), Path(lines[1]).resolve())

    @staticmethod
    def is_bare_at(start: Path | None = None) -> bool:
        """True when `start` (default: the cwd) is inside a bare repository."""
        absolutize_git_env()
        try:
            proc = run_git(["rev-parse", "--is-bare-repository"], Path(start or Path.cwd()), check=False)
        except OperationError:
            return False
        return proc.returncode == 0 and proc.stdout.strip() == b"true"

    def close(self) -> None:
        """Stop the cat-file processes (a later query starts them again)."""
        self._batch.close()
        self._check.close()

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def state_dir(self) -> Path:
        """Local state shared by linked worktrees: `<common dir>/eosvc`."""
        return self.common_dir / "eosvc"

    def default_name(self) -> str:
        """The repo name when none is configured: the work tree's directory name."""
        return self.workdir.name

    def _peeled(self, rev: str, kind: Literal["commit", "tree"], strict: bool = True) -> str | None:
        """The id of `rev^{kind}`; else UsageError (strict) or None. `:/regex` revs are refused."""
        obj = self._check.query(f"{rev}^{{{kind}}}", self.workdir) if rev[:1] not in ("", ":") else "missing"
        if isinstance(obj, GitObject) or not strict:
            return obj.oid if isinstance(obj, GitObject) else None
        raise UsageError(f"{'ambiguous' if obj == 'ambiguous' else 'unknown'} revision {rev!r}")

    def head(self) -> str | None:
        """HEAD's commit id; None on an unborn branch or a broken HEAD. Never cached."""
        try:
            obj = self._check.query("HEAD", self.workdir)
        except OperationError:
            return None
        return obj.oid if isinstance(obj, GitObject) and obj.type == "commit" else None

    def resolve(self, rev: str) -> str:
        """The commit a revision names (`rev^{commit}`: tags peeled); UsageError if none."""
        return self._peeled(rev, "commit") or ""

    def commit_of(self, oid: str) -> str | None:
        """The commit an id (or any revision) names, tags peeled; None if not a local commit."""
        return self._peeled(oid, "commit", strict=False)

    def has_local(self, oid: str) -> bool:
        """Whether commit (or tag) `oid` is here, without fetching it: in a partial clone
        `cat-file` would ask the promisor remote for any id it lacks (git 2.39 has no
        GIT_NO_LAZY_FETCH). Blobs and trees answer False."""
        proc = self.run("rev-list", "--no-walk", "--ignore-missing", "--missing=allow-any", oid, check=False)
        return proc.returncode == 0 and proc.stdout.strip() != b""

    def commits(self, include: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
        """`git rev-list <include> --not <exclude>`; excludes that are not local commits are ignored."""
        heads = [self.resolve(rev) for rev in include]
        if not heads:
            return []
        nots = [f"^{r}" for r in exclude if r and "\n" not in r and not r.startswith(("-", "^"))]
        out = self.run("rev-list", "--ignore-missing", "--missing=allow-any", "--stdin",
                       input="".join(f"{x}\n" for x in heads + nots).encode()).stdout
        return _lines(out)

    def commit(self, oid: str) -> CommitInfo:
        """A commit by id: `.id`, `.tree_id`, `.parent_ids` (UsageError if not a commit)."""
        obj = self._batch.query(str(oid), self.workdir)
        if not isinstance(obj, GitObject) or obj.type != "commit" or obj.data is None:
            raise UsageError(f"{oid} is not a commit")
        head = obj.data.split(b"\n\n", 1)[0].split(b"\n")
        tree = next((x[5:].decode() for x in head if x.startswith(b"tree ")), "")
        parents = [x[7:].decode() for x in head if x.startswith(b"parent ")]
        shallow = self.common_dir / "shallow"  # git grafts shallow boundary commits parentless
        if parents and shallow.is_file() and obj.oid in _lines(shallow.read_bytes()):
            parents = []
        return CommitInfo(obj.oid, tree, parents)

    def parents(self, commit: str) -> list[str]:
        """The parent ids of a commit (any revision naming one)."""
        if not is_object_id(commit):
            commit = self.resolve(commit)
        return self.commit(commit).parent_ids

    def merge_base(self, a: str, b: str) -> str | None:
        """`git merge-base a b`: the best common ancestor, None when there is none."""
        proc = self.run("merge-base", a, b, check=False)
        if proc.returncode not in (0, 1) or git_said(proc.stderr):
            raise OperationError(f"git merge-base failed: {git_said(proc.stderr)}")
        return _lines(proc.stdout)[0] if proc.returncode == 0 else None

    def blob(self, oid: str) -> bytes:
        """A blob's bytes by id (git fetches it lazily in a partial clone); OperationError if none."""
        obj = self._batch.query(str(oid), self.workdir)
        if not isinstance(obj, GitObject) or obj.type != "blob" or obj.data is None:
            raise OperationError(f"git object {oid} is {obj if isinstance(obj, str) else 'not a file'}")
        return obj.data

    def _tree(self, oid: str) -> dict[bytes, tuple[int, str]]:
        """A tree's entries, name -> (mode, id); up to 256 trees are kept."""
        entries = self._trees.get(oid)
        if entries is None:
            obj = self._batch.query(oid, self.workdir)
            if not isinstance(obj, GitObject) or obj.type != "tree" or obj.data is None:
                raise OperationError(f"git tree {oid} is missing")
            entry = re.compile(rb"([0-7]+) ([^\0]*)\0(.{%d})" % (len(obj.oid) // 2), re.S)  # mode name raw-id
            entries = {m[2]: (int(m[1], 8), m[3].hex()) for m in entry.finditer(obj.data)}
            if len(self._trees) >= 256:
                self._trees.clear()
            self._trees[oid] = entries
        return entries

    def entry_at(self, rev_or_commit: str, path: str) -> tuple[int, str] | None:
        """(mode, id) of `path` (literal, from the root) at a revision, any kind of entry, or
        None; reads trees only."""
        tree, parts = self._peeled(rev_or_commit, "tree") or "", os.fsencode(path).split(b"/")
        for name in parts[:-1]:
            mode, tree = self._tree(tree).get(name, (0, ""))
            if mode & _FMT != _TREE:
                return None
        found = self._tree(tree).get(parts[-1])
        return found if found and found[0] else None

    def blob_id_at(self, rev_or_commit: str, path: str) -> str | None:
        """The blob id of `path` (literal, from the root) at a revision, or None; reads trees only."""
        mode, oid = self.entry_at(rev_or_commit, path) or (0, "")
        return oid if _is_blob_mode(mode) else None

    def tracked(self, paths: Sequence[str], rev: str | None = None, index_file: str | None = None) -> list[str]:
        """Every file or link git tracks at or under `paths`: in a commit's tree (`rev`), else
        in the index (or `index_file`, git's GIT_INDEX_FILE)."""
        args = ["ls-tree", "-r", "--name-only", "-z", rev] if rev else ["ls-files", "-z"]
        env = None if index_file is None else {**os.environ, "GIT_INDEX_FILE": index_file}
        out = run_git(["--literal-pathspecs", *args, "--", *paths], self.workdir, env=env).stdout
        return [os.fsdecode(p) for p in out.split(b"\0") if p]

    def file_at(self, rev: str | None, path: str) -> bytes | None:
        """A file's bytes at a revision (None: absent there, or rev is None)."""
        oid = self.blob_id_at(rev, path) if rev is not None else None
        return None if oid is None else self.blob(oid)

    def manifest_at(self, rev: str | None, manifest_path: str, section: str) -> Manifest:
        """The manifest committed at `rev` (empty when absent or rev is None)."""
        from .manifest import EMPTY, decode
        data = self.file_at(rev, manifest_path)
        if data is None:
            return EMPTY
        return decode(data, f"{rev[:10] if rev else ''}:{manifest_path}", section)

    def working_manifest(self, manifest_path: str, section: str) -> Manifest:
        """The manifest in the work tree (empty when absent)."""
        from .manifest import EMPTY, decode
        try:
            data = (self.workdir / manifest_path).read_bytes()
        except FileNotFoundError:
            return EMPTY
        except IsADirectoryError:
            raise ManifestError(f"{manifest_path} is a directory, expected a manifest file") from None
        return decode(data, manifest_path, section)

    def _ls_files(self, flag: str, paths: Sequence[str],
                  index_file: str | None = None) -> list[tuple[str, int, str, int]]:
        """(path, mode, id, stage) of the index entries at exactly `paths`, read fresh, in one call."""
        env = None if index_file is None else {**os.environ, "GIT_INDEX_FILE": index_file}
        out = run_git(["--literal-pathspecs", "ls-files", flag, "-z", "--", *paths], self.workdir,
                      env=env).stdout if paths else b""
        wanted = {os.fsencode(p) for p in paths}
        recs = [rec.partition(b"\t") for rec in out.split(b"\0") if rec]
        fields = [(os.fsdecode(name), meta.split(b" ")) for meta, _, name in recs if name in wanted]
        return [(name, int(mode, 8), oid.decode(), int(stage)) for name, (mode, oid, stage) in fields]

    def skip_worktree(self, path: str) -> bool:
        """Whether `path` is in the index but left out of the work tree (sparse checkout)."""
        out = run_git(["--literal-pathspecs", "ls-files", "-t", "-z", "--", path], self.workdir).stdout
        return any(rec[:2] == b"S " and rec[2:] == os.fsencode(path) for rec in out.split(b"\0"))

    def index_blob_ids(self, paths: Sequence[str], index_file: str | None = None) -> dict[str, str]:
        """path -> blob id staged (stage 0) for those of `paths` the index (or `index_file`,
        git's GIT_INDEX_FILE) has as a file or link; one git call."""
        return {name: oid for name, mode, oid, stage in self._ls_files("-s", paths, index_file)
                if stage == 0 and _is_blob_mode(mode)}

    def index_blob_id(self, path: str, index_file: str | None = None) -> str | None:
        """The blob id staged (stage 0) for `path`, in the index or in `index_file` (GIT_INDEX_FILE)."""
        return self.index_blob_ids([path], index_file).get(path)

    def index_stages(self, path: str) -> tuple[bytes | None, bytes | None, bytes | None] | None:
        """(base, ours, theirs) bytes of an unmerged path; None when `path` is not unmerged."""
        entries = self._ls_files("-u", [path])
        stages = {stage: self.blob(oid) for _, mode, oid, stage in entries if _is_blob_mode(mode)}
        return (stages.get(1), stages.get(2), stages.get(3)) if entries else None

    def current_branch(self) -> str | None:
        """The branch HEAD is on (also when unborn); None when detached."""
        proc = self.run("symbolic-ref", "-q", "HEAD", check=False)
        ref = os.fsdecode(proc.stdout.strip()) if proc.returncode == 0 else ""
        return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None

    def ref_tips(self, prefix: str) -> list[str]:
        """The distinct ids the refs under `prefix` point at (`git for-each-ref`)."""
        return list(dict.fromkeys(_lines(self.run("for-each-ref", "--format=%(objectname)", prefix).stdout)))

    def local_refs(self) -> list[tuple[str, str]]:
        """(name, commit) of every local branch and tag (tags peeled; tags of non-commits left out)."""
        out = self.run("for-each-ref", "--format=%(refname) %(objectname) %(*objectname)",
                       "refs/heads/", "refs/tags/").stdout.decode(errors="replace")
        refs = []
        for line in out.splitlines():
            name, oid, peeled = (line.rsplit(" ", 2) + ["", ""])[:3]
            commit = self.commit_of(peeled or oid)
            if commit:
                refs.append((name, commit))
        return refs

    def config_get(self, key: str) -> str | None:
        """`git config --get key` over every level (last value wins); None when unset."""
        proc = self.run("config", "-z", "--get", key, check=False)
        if proc.returncode in (0, 1) and not git_said(proc.stderr):
            return proc.stdout.rstrip(b"\0").decode("utf-8", "surrogateescape") if proc.returncode == 0 else None
        raise UsageError(f"cannot read git config {key!r}: {git_said(proc.stderr)}")

    def _config_regexp(self, *prefixes: str) -> list[tuple[str, str]]:
        """The config entries whose keys start with a prefix (any case), in order; one git call."""
        ere = "^(" + "|".join("".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else "\\" + c
                                      if c in ".^$*+?()[]{}|\\" else c for c in p) for p in prefixes) + ")"
        proc = self.run("config", "-z", "--get-regexp", ere, check=False)
        if proc.returncode != 0 and (proc.returncode != 1 or git_said(proc.stderr)):
            raise OperationError(f"git config failed: {git_said(proc.stderr)}")
        recs = [r.partition(b"\n") for r in proc.stdout.split(b"\0") if r]  # key\nvalue, or key alone
        return [(k.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape")) for k, _, v in recs]

    def config_values(self, prefix: str = "eosvc.") -> dict[str, str]:
        """The config (all levels, `-c`, GIT_CONFIG_*) under `prefix`, keys lowercased, last one wins."""
        return {k.lower(): v for k, v in self._config_regexp(prefix)}

    def remotes(self) -> dict[str, tuple[str, ...]]:
        """Remote name -> url and pushurl values as git uses them (insteadOf applied), then as set."""
        urls: dict[str, tuple[list[str], list[str]]] = {}
        rules: dict[str, list[tuple[str, str]]] = {"insteadof": [], "pushinsteadof": []}
        for key, value in self._config_regexp("remote.", "url."):
            section, _, rest = key.partition(".")
            sub, _, var = rest.rpartition(".")
            if sub and section.lower() == "remote":
                fetch, push = urls.setdefault(sub, ([], []))
                {"url": fetch, "pushurl": push}.get(var.lower(), []).append(value)
            elif sub and var.lower() in rules:
                rules[var.lower()].append((value, sub))
        def alias(url: str, kind: str) -> str:  # the longest matching prefix wins, the first on a tie
            hits = [(len(p), -i, base) for i, (p, base) in enumerate(rules[kind]) if url.startswith(p)]
            return url if not hits else max(hits)[2] + url[max(hits)[0]:]
        return {name: tuple(dict.fromkeys([alias(u, "insteadof") for u in fetch + push]
                                          + [alias(u, "pushinsteadof") for u in fetch if not push] + fetch + push))
                for name, (fetch, push) in urls.items()}

    def sequencer_busy(self) -> bool:
        """A rebase, cherry-pick or revert that goes on at once, without handing the work tree
        to the user: the hook after this step may skip, the next one reconciles.

        Measured on git 2.39: `rebase-merge/git-rebase-todo` lists only the steps left, while
        `sequencer/todo` (a range cherry-pick or revert) still lists the one being committed.
        A stop (`edit`, `break`, an `exec` to run next, a conflict) hands the work tree to the
        user, and a `reset` or `exec` step uses it: those are not busy.
        """
        todo = _steps(self.git_dir / "rebase-merge" / "git-rebase-todo")
        if todo:
            done = _steps(self.git_dir / "rebase-merge" / "done")
            stop = done and done[-1].split()[0] in _REBASE_STOPS
            if stop or todo[0].split()[0] not in _REBASE_GOES_ON:
                return False
        elif len(_steps(self.git_dir / "sequencer" / "todo")) <= 1:
            return False
        return not self.run("ls-files", "-u").stdout  # a conflict hands control back

    def run(self, *args: str, check: bool = True, capture: bool = True,
            input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """`git <args>` in the work tree (see run_git)."""
        return run_git(args, self.workdir, check=check, capture=capture, input=input)

    def is_dirty(self) -> list[str]:
        """Tracked or untracked-not-ignored changes, as `git status --porcelain` lines."""
        out = self.run("status", "--porcelain", "-z").stdout.decode(errors="replace")
        return [x for x in out.split("\0") if x]


def _steps(todo: Path) -> list[bytes]:
    """The steps of a sequencer's todo (or done) file: lines that are not blank or comments."""
    try:
        lines = todo.read_bytes().splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith(b"#")]


# rebase todo commands after which git moves on by itself (the next step rewrites the tree)
_REBASE_GOES_ON = {b"pick", b"p", b"reword", b"r", b"fixup", b"f", b"squash", b"s", b"merge", b"m",
                   b"label", b"l", b"update-ref", b"u", b"noop", b"drop", b"d"}
# a done step that hands the work tree to the user
_REBASE_STOPS = {b"edit", b"e", b"break", b"b"}
