"""What git itself does with client-side hooks: measured, no git-eosvc involved.

Every case of gitmatrix.CASES runs for real in a plain repository whose hooks are small
recording scripts (gitmatrix.install_recorders): hook name, arguments, and which of
MERGE_HEAD, CHERRY_PICK_HEAD, REVERT_HEAD, REBASE_HEAD, BISECT_LOG, SQUASH_MSG,
rebase-merge/, rebase-apply/, sequencer/todo exist in the git dir at that moment (with the
number of non-comment lines left in rebase-merge/git-rebase-todo and sequencer/todo, and
`git am`'s next/last). The assertions below are the facts git-eosvc's hooks rely on
(DESIGN.md §4). Where git does something else than §4 says, the test asserts what git
really does and a comment says "DESIGN §4 differs".

`EOSVC_HOOK_TABLE=docs/git-hooks-table.md pytest tests/test_git_hooks_recorded.py`
writes the measured table as markdown (gitmatrix.hook_table / table_markdown).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import gitmatrix as gm
import pytest
from gitmatrix import HookRun, StepRecord

HOOK_TABLE_PATH = os.environ.get("EOSVC_HOOK_TABLE")  # read at import: git_env clears EOSVC_*
DOC_TABLE = Path(__file__).resolve().parent.parent / "docs" / "git-hooks-table.md"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[StepRecord]]]:
    """The whole git-flavour matrix, run once with recording hooks, git pinned to a throwaway HOME."""
    root = tmp_path_factory.mktemp("hooks-recorded")
    with gm.pinned_env(root / "home"):
        yield gm.record_cases(root / "run")


def step(recorded: dict[str, list[StepRecord]], case: str, index: int = 0) -> StepRecord:
    return recorded[case][index]


def of(rec: StepRecord, hook: str) -> list[HookRun]:
    return [r for r in rec.runs if r.hook == hook]


def names(rec: StepRecord) -> list[str]:
    return [r.hook for r in rec.runs]


def shown(rec: StepRecord) -> str:
    """The step's hook runs, for assertion messages."""
    return f"{rec.label}:\n  " + "\n  ".join(gm.hooks_of(rec) or ["(no hook ran)"])


def index_changes(rec: StepRecord) -> list[tuple[str, ...]]:
    return [r.args for r in of(rec, "post-index-change")]


# ---------------------------------------------------------------- merge and pull


@pytest.mark.parametrize("case", ["merge-true", "merge-no-ff", "pull-merge"])
def test_true_merge_runs_post_merge_while_merge_head_exists(recorded, case: str) -> None:
    rec = step(recorded, case)
    post = of(rec, "post-merge")
    assert len(post) == 1, f"one post-merge per merge\n{shown(rec)}"
    assert post[0].args == ("0",), f"post-merge's argument is 0 (not a squash)\n{shown(rec)}"
    assert "MERGE_HEAD" in post[0].state, \
        f"post-merge runs while MERGE_HEAD still exists: the merge is done all the same\n{shown(rec)}"
    assert post[0].head == rec.runs[-1].head and rec.names.get(post[0].head, "").startswith("new("), \
        f"HEAD is already the new merge commit when post-merge runs\n{shown(rec)}"
    assert names(rec)[-1] == "post-merge", f"post-merge is the last hook of a merge\n{shown(rec)}"
    assert "post-commit" not in names(rec), f"a merge commit runs no post-commit\n{shown(rec)}"
    assert "pre-merge-commit" in names(rec), f"a true merge runs pre-merge-commit\n{shown(rec)}"


@pytest.mark.parametrize("case", ["merge-ff", "pull-ff", "pull-ff-only", "sparse-no-cone#1", "shallow-pull"])
def test_fast_forward_runs_post_merge_without_merge_head(recorded, case: str) -> None:
    case, _, index = case.partition("#")
    rec = step(recorded, case, int(index or 0))
    post = of(rec, "post-merge")
    assert [p.args for p in post] == [("0",)], f"a fast-forward runs post-merge 0 once\n{shown(rec)}"
    assert "MERGE_HEAD" not in post[0].state, f"no MERGE_HEAD in a fast-forward\n{shown(rec)}"
    assert "post-checkout" not in names(rec), f"a fast-forward runs no post-checkout\n{shown(rec)}"
    assert ("1", "0") in index_changes(rec), f"and post-index-change 1 0 before it\n{shown(rec)}"


def test_squash_merge_runs_post_merge_1_and_the_commit_post_commit(recorded) -> None:
    merge, commit = recorded["merge-squash-commit"]
    post = of(merge, "post-merge")
    assert [p.args for p in post] == [("1",)], f"merge --squash runs post-merge with 1\n{shown(merge)}"
    assert "MERGE_HEAD" not in post[0].state and "SQUASH_MSG" in post[0].state, \
        f"a squash leaves SQUASH_MSG, no MERGE_HEAD\n{shown(merge)}"
    assert names(commit)[-1] == "post-commit", f"the commit that follows runs post-commit\n{shown(commit)}"


@pytest.mark.parametrize("case", ["merge-conflict-continue", "pull-conflict-commit"])
def test_conflicted_merge_runs_no_post_merge_and_the_conclusion_runs_post_commit(recorded, case: str) -> None:
    conflict, resolve, conclude = recorded[case]
    assert conflict.rc == 1, f"the merge stops on a conflict\n{shown(conflict)}"
    assert "post-merge" not in names(conflict) and "post-commit" not in names(conflict), \
        f"a conflicted merge runs no post-merge and no post-commit\n{shown(conflict)}"
    written = [r for r in of(conflict, "post-index-change") if r.args[0] == "1"]
    assert written, f"a conflicted merge runs post-index-change 1 (the work tree was updated)\n{shown(conflict)}"
    # git writes the index (and runs this hook) before it writes MERGE_HEAD
    assert all("MERGE_HEAD" not in r.state for r in written), \
        f"post-index-change 1 of a conflicted merge runs before MERGE_HEAD exists\n{shown(conflict)}"
    assert names(resolve) == ["post-index-change"] and index_changes(resolve) == [("0", "0")], \
        f"`git add` of the resolution runs post-index-change 0 0 only\n{shown(resolve)}"
    assert "post-merge" not in names(conclude), \
        f"concluding a conflicted merge runs no post-merge\n{shown(conclude)}"
    post = of(conclude, "post-commit")
    assert len(post) == 1, f"concluding a conflicted merge runs post-commit\n{shown(conclude)}"
    assert "MERGE_HEAD" not in post[0].state, \
        f"MERGE_HEAD is gone when the concluding post-commit runs\n{shown(conclude)}"
    assert "MERGE_HEAD" in of(conclude, "pre-commit")[0].state, \
        f"pre-commit of the concluding commit still sees MERGE_HEAD\n{shown(conclude)}"


# ---------------------------------------------------------------- cherry-pick and revert


def test_cherry_pick_runs_post_commit_while_cherry_pick_head_exists(recorded) -> None:
    rec = step(recorded, "cherry-pick-one")
    post = of(rec, "post-commit")
    assert len(post) == 1, f"cherry-pick runs post-commit once\n{shown(rec)}"
    assert "CHERRY_PICK_HEAD" in post[0].state, \
        f"post-commit after cherry-pick runs while CHERRY_PICK_HEAD exists\n{shown(rec)}"
    assert "sequencer/todo" not in post[0].state, f"a single pick has no sequencer todo\n{shown(rec)}"
    assert index_changes(rec)[:1] == [("1", "0")], f"cherry-pick runs post-index-change 1 0\n{shown(rec)}"
    assert "post-merge" not in names(rec) and "post-checkout" not in names(rec), \
        f"cherry-pick runs neither post-merge nor post-checkout\n{shown(rec)}"
    assert names(rec)[-1] == "post-commit", f"post-commit is the last hook\n{shown(rec)}"


def test_cherry_pick_range_runs_post_commit_per_commit_and_the_todo_lists_the_current_pick(recorded) -> None:
    rec = step(recorded, "cherry-pick-range")
    post = of(rec, "post-commit")
    assert len(post) == 3, f"one post-commit per picked commit (C1, C2, C3)\n{shown(rec)}"
    assert all("CHERRY_PICK_HEAD" in p.state and "sequencer/todo" in p.state for p in post), \
        f"each runs with CHERRY_PICK_HEAD and sequencer/todo present\n{shown(rec)}"
    # DESIGN §4 differs: it says to skip "while a sequencer still has steps to run (a ... cherry-pick
    # ... with a non-empty todo)". git 2.39 keeps the pick being committed in sequencer/todo (unlike
    # rebase-merge/git-rebase-todo, which lists only what is left), so the LAST pick's post-commit
    # still sees one line: steps left = lines - 1, and a hook that skips on "non-empty" never
    # materialises after `git cherry-pick A..B`.
    assert [p.sequencer_todo for p in post] == [3, 2, 1], \
        f"sequencer/todo holds the current pick and the ones after it (3, 2, 1)\n{shown(rec)}"
    assert [rec.names.get(p.head, "") for p in post] == ["new(C1)", "new(C2)", "new(C3)"], \
        f"HEAD is the new commit when its post-commit runs\n{shown(rec)}"
    assert names(rec)[-1] == "post-commit", f"nothing runs after the last post-commit\n{shown(rec)}"
    assert index_changes(rec) == [("1", "0")] * 3, f"post-index-change 1 0 per pick\n{shown(rec)}"


def test_cherry_pick_no_commit_runs_only_post_index_change_1(recorded) -> None:
    rec = step(recorded, "cherry-pick-n")
    assert names(rec) == ["post-index-change"] and index_changes(rec) == [("1", "0")], \
        f"cherry-pick -n runs post-index-change 1 0 and nothing else\n{shown(rec)}"


def test_cherry_pick_conflict_and_continue(recorded) -> None:
    conflict, _resolve, cont = recorded["cherry-pick-conflict-continue"]
    assert conflict.rc == 1
    assert names(conflict) == ["post-index-change"] and index_changes(conflict) == [("1", "0")], \
        f"a conflicted cherry-pick runs post-index-change 1 0 only\n{shown(conflict)}"
    assert "CHERRY_PICK_HEAD" not in conflict.runs[0].state, \
        f"... before CHERRY_PICK_HEAD is written\n{shown(conflict)}"
    post = of(cont, "post-commit")
    assert len(post) == 1 and "CHERRY_PICK_HEAD" not in post[0].state, \
        f"--continue runs post-commit after CHERRY_PICK_HEAD is removed\n{shown(cont)}"


def test_revert_runs_post_index_change_1_and_post_commit(recorded) -> None:
    rec = step(recorded, "revert")
    assert index_changes(rec)[:1] == [("1", "0")], f"revert runs post-index-change 1 0\n{shown(rec)}"
    post = of(rec, "post-commit")
    # DESIGN §4 lists revert under post-index-change 1 only; git 2.39 also runs post-commit
    assert len(post) == 1, f"revert also runs post-commit\n{shown(rec)}"
    assert not post[0].state, f"a single revert's post-commit sees no REVERT_HEAD nor sequencer\n{shown(rec)}"


def test_revert_range_runs_post_commit_per_commit_without_revert_head(recorded) -> None:
    rec = step(recorded, "revert-range")
    post = of(rec, "post-commit")
    assert len(post) == 2, f"one post-commit per reverted commit\n{shown(rec)}"
    assert all("REVERT_HEAD" not in p.state for p in post), \
        f"git writes REVERT_HEAD only when a revert stops; these post-commits see none\n{shown(rec)}"
    # DESIGN §4 differs (as for cherry-pick ranges): the todo still lists the revert being committed
    assert [p.sequencer_todo for p in post] == [2, 1], \
        f"sequencer/todo holds the current revert and the ones after it (2, 1)\n{shown(rec)}"
    assert index_changes(rec) == [("1", "0")] * 2, f"post-index-change 1 0 per revert\n{shown(rec)}"


# ---------------------------------------------------------------- reset, stash, am


@pytest.mark.parametrize("case", ["reset-hard", "reset-keep", "stash", "stash-pop"])
def test_reset_and_stash_run_post_index_change_1_only(recorded, case: str) -> None:
    rec = step(recorded, case)
    assert set(names(rec)) == {"post-index-change"}, \
        f"{rec.label} runs no hook but post-index-change\n{shown(rec)}"
    assert ("1", "0") in index_changes(rec), \
        f"{rec.label} runs post-index-change with first argument 1\n{shown(rec)}"
    assert all(not r.state for r in rec.runs), f"with no operation in progress\n{shown(rec)}"


@pytest.mark.parametrize("case,patches", [("am", 1), ("am-two-patches", 2)])
def test_am_runs_post_applypatch_per_patch_and_no_post_commit(recorded, case: str, patches: int) -> None:
    rec = step(recorded, case)
    post = of(rec, "post-applypatch")
    assert len(post) == patches, f"git am runs post-applypatch once per patch\n{shown(rec)}"
    assert "post-commit" not in names(rec), f"git am runs no post-commit\n{shown(rec)}"
    assert "post-checkout" not in names(rec) and "post-merge" not in names(rec), shown(rec)
    assert all(a[0] == "0" for a in index_changes(rec)), \
        f"git am's post-index-change always has 0 first\n{shown(rec)}"
    assert [r.hook for r in rec.runs if r.hook != "post-index-change"] == \
        ["applypatch-msg", "pre-applypatch", "post-applypatch"] * patches, shown(rec)
    # DESIGN §4 is silent here: post-applypatch runs while rebase-apply/ still exists (the state
    # a rebase --apply also has), with rebase-apply/next and /last saying which patch this is;
    # the last patch's post-applypatch is the end of `git am`.
    assert all("rebase-apply" in p.state for p in post), \
        f"post-applypatch runs while rebase-apply/ exists\n{shown(rec)}"
    assert [p.am for p in post] == [f"{i}/{patches}" for i in range(1, patches + 1)], \
        f"rebase-apply/next / last count the patches\n{shown(rec)}"
    assert names(rec)[-1] == "post-applypatch", f"the last post-applypatch ends git am\n{shown(rec)}"


# ---------------------------------------------------------------- checkout, switch, restore


@pytest.mark.parametrize("case", ["checkout-path-data", "checkout-path-output", "restore-source",
                                  "restore-source-staged"])
def test_path_checkout_and_restore_run_post_checkout_with_flag_0(recorded, case: str) -> None:
    rec = step(recorded, case)
    post = of(rec, "post-checkout")
    assert len(post) == 1, f"{rec.label} runs post-checkout once\n{shown(rec)}"
    head = post[0].head
    assert post[0].args == (head, head, "0"), \
        f"post-checkout <HEAD> <HEAD> 0 (files checked out, HEAD unchanged)\n{shown(rec)}"
    if case == "restore-source":
        # DESIGN §4 differs: "(and post-index-change with 0)". `git restore --source` without
        # --staged does not write the index, so git 2.39 runs no post-index-change at all
        assert "post-index-change" not in names(rec), \
            f"restore of the work tree only runs no post-index-change\n{shown(rec)}"
    else:
        assert index_changes(rec) == [("0", "0")], \
            f"{rec.label} runs post-index-change 0 0 (the index changed, not by a work-tree update)\n{shown(rec)}"


@pytest.mark.parametrize("case", ["checkout-rev", "switch", "partial-checkout"])
def test_branch_checkout_runs_post_checkout_with_flag_1(recorded, case: str) -> None:
    rec = step(recorded, case)
    post = of(rec, "post-checkout")
    assert len(post) == 1 and post[0].args[2] == "1", f"post-checkout ... 1\n{shown(rec)}"
    assert post[0].args[0] != post[0].args[1] and post[0].args[1] == post[0].head, \
        f"old and new HEAD, HEAD already moved\n{shown(rec)}"
    assert index_changes(rec) == [("1", "0")], shown(rec)


def test_worktree_add_runs_post_checkout_in_the_new_worktree(recorded) -> None:
    rec = step(recorded, "worktree-add")
    post = of(rec, "post-checkout")
    assert len(post) == 1, shown(rec)
    assert post[0].args == ("0" * 40, post[0].head, "1"), \
        f"post-checkout 0000… <new> 1 (the null old HEAD)\n{shown(rec)}"
    assert post[0].git_dir.endswith("/.git/worktrees/wt"), \
        f"it runs with the linked worktree's git dir (hooks come from the common dir)\n{shown(rec)}"


# ---------------------------------------------------------------- rebase


@pytest.mark.parametrize("case", ["rebase-clean", "pull-rebase", "rebase-autostash"])
def test_rebase_picks_run_post_commit_and_post_rewrite_comes_last(recorded, case: str) -> None:
    rec = step(recorded, case)
    pre = of(rec, "pre-rebase")
    assert len(pre) == 1, f"pre-rebase once\n{shown(rec)}"
    checkout = of(rec, "post-checkout")
    assert len(checkout) == 1 and checkout[0].args[2] == "1", \
        f"one post-checkout (onto the upstream) at the start\n{shown(rec)}"
    assert "rebase-merge" in checkout[0].state and checkout[0].rebase_todo == 2, \
        f"... while rebase-merge/ exists with both picks still to do\n{shown(rec)}"
    post = of(rec, "post-commit")
    assert len(post) == 2, f"post-commit per replayed commit\n{shown(rec)}"
    assert all({"CHERRY_PICK_HEAD", "rebase-merge"} <= p.state for p in post), \
        f"each with CHERRY_PICK_HEAD and rebase-merge/ present\n{shown(rec)}"
    assert [p.rebase_todo for p in post] == [1, 0], \
        f"git-rebase-todo lists only what is left (not the current pick): 1, then 0\n{shown(rec)}"
    rewrite = of(rec, "post-rewrite")
    assert [r.args for r in rewrite] == [("rebase",)], f"post-rewrite rebase once\n{shown(rec)}"
    assert rewrite[0].stdin_lines == 2, f"its stdin lists the 2 rewritten commits\n{shown(rec)}"
    assert "rebase-merge" in rewrite[0].state and rewrite[0].rebase_todo == 0, \
        f"post-rewrite runs while rebase-merge/ still exists, todo empty\n{shown(rec)}"
    if case == "pull-rebase":
        assert len(pre[0].args) == 1 and len(pre[0].args[0]) == 40, \
            f"git pull --rebase passes the upstream to pre-rebase as a commit id\n{shown(rec)}"
    if case == "rebase-autostash":
        after = rec.runs[rec.runs.index(rewrite[0]) + 1:]
        # DESIGN §4 is silent: the autostash is applied AFTER post-rewrite, announced only by a
        # post-index-change 1 (rebase-merge/ still present, todo empty)
        assert any(r.hook == "post-index-change" and r.args[0] == "1" for r in after), \
            f"--autostash re-applies the stash after post-rewrite: post-index-change 1\n{shown(rec)}"
        assert all("rebase-merge" in r.state for r in after), shown(rec)
    else:
        assert names(rec)[-1] == "post-rewrite", f"post-rewrite is the last hook of a rebase\n{shown(rec)}"


def test_rebase_with_nothing_to_replay_runs_no_post_rewrite(recorded) -> None:
    rec = step(recorded, "rebase-ff")
    assert "post-rewrite" not in names(rec) and "post-commit" not in names(rec), \
        f"a rebase that only fast-forwards runs no post-rewrite / post-commit\n{shown(rec)}"
    post = of(rec, "post-checkout")
    assert len(post) == 1 and "rebase-merge" in post[0].state and post[0].rebase_todo == 0, \
        f"its only chance is post-checkout, inside rebase-merge/ with an empty todo\n{shown(rec)}"


def test_rebase_conflict_then_continue(recorded) -> None:
    conflict, _resolve, cont = recorded["rebase-conflict-continue"]
    assert conflict.rc == 1
    assert "post-rewrite" not in names(conflict) and "post-commit" not in names(conflict), shown(conflict)
    last = conflict.runs[-1]
    assert last.hook == "post-index-change" and last.args[0] == "1" and last.rebase_todo == 0, \
        f"the stopped pick updates the work tree: post-index-change 1, rebase-merge/ with an empty todo\n" \
        f"{shown(conflict)}"
    post = of(cont, "post-commit")
    assert len(post) == 1 and {"REBASE_HEAD", "rebase-merge"} <= post[0].state, \
        f"--continue commits the pick: post-commit with REBASE_HEAD and rebase-merge/\n{shown(cont)}"
    rewrite = of(cont, "post-rewrite")
    assert len(rewrite) == 1 and rewrite[0].args == ("rebase",) and rewrite[0].stdin_lines == 1, shown(cont)
    assert names(cont)[-1] == "post-rewrite", shown(cont)


def test_commit_amend_runs_post_commit_then_post_rewrite_amend(recorded) -> None:
    rec = step(recorded, "commit-amend")
    hooks = [h for h in names(rec) if h != "post-index-change"]
    assert hooks[-2:] == ["post-commit", "post-rewrite"], shown(rec)
    assert of(rec, "post-rewrite")[0].args == ("amend",) and of(rec, "post-rewrite")[0].stdin_lines == 1, \
        shown(rec)


# ---------------------------------------------------------------- bisect


def test_bisect_checkouts_run_post_checkout_with_bisect_log(recorded) -> None:
    start, bad, good, mid, last, reset = recorded["bisect"]
    assert start.runs == [] and bad.runs == [], \
        f"bisect start / bad (no good yet) check nothing out: no hook\n{shown(start)}\n{shown(bad)}"
    for rec in (good, mid):
        post = of(rec, "post-checkout")
        assert len(post) == 1 and post[0].args[2] == "1" and "BISECT_LOG" in post[0].state, \
            f"each bisect step that checks out runs post-checkout 1 with BISECT_LOG\n{shown(rec)}"
    assert last.runs == [], f"the step that names the first bad commit checks nothing out\n{shown(last)}"
    post = of(reset, "post-checkout")
    # DESIGN §4 is silent: `git bisect reset` checks out the original branch while BISECT_LOG
    # still exists, so "in a bisect" does not mean "mid-bisect" for this hook
    assert len(post) == 1 and post[0].args[2] == "1" and "BISECT_LOG" in post[0].state, \
        f"bisect reset runs post-checkout 1 while BISECT_LOG still exists\n{shown(reset)}"


def test_bisect_run_checks_out_with_post_checkout_per_step(recorded) -> None:
    start, run = recorded["bisect-run"]
    assert [r.args[2] for r in of(start, "post-checkout")] == ["1"], shown(start)
    post = of(run, "post-checkout")
    assert post and all(p.args[2] == "1" and "BISECT_LOG" in p.state for p in post), \
        f"bisect run: post-checkout 1 with BISECT_LOG before each run of the script\n{shown(run)}"


# ---------------------------------------------------------------- submodule, sparse


def test_submodule_update_runs_post_checkout_in_the_submodule(recorded) -> None:
    rec = step(recorded, "submodule-update")
    post = of(rec, "post-checkout")
    assert len(post) == 1 and post[0].args[2] == "1", shown(rec)
    assert post[0].git_dir.endswith("/.git/modules/sub"), \
        f"it runs in the submodule's git dir, with the submodule's hooks\n{shown(rec)}"
    assert rec.names.get(post[0].args[0]) == "C0" and rec.names.get(post[0].args[1]) == "C3", shown(rec)


def test_sparse_checkout_set_runs_only_post_index_change_0(recorded) -> None:
    rec = step(recorded, "sparse-no-cone")
    # DESIGN §4 is silent: narrowing a sparse checkout removes files from the work tree, yet git
    # 2.39 announces it with post-index-change 0 0 only (no post-checkout, no flag 1)
    assert set(names(rec)) == {"post-index-change"} and set(index_changes(rec)) == {("0", "0")}, shown(rec)


def test_no_step_ran_pre_push(recorded) -> None:
    for records in recorded.values():
        for rec in records:
            assert "pre-push" not in names(rec), shown(rec)


# ---------------------------------------------------------------- the table, for the docs


def test_hook_table(recorded) -> None:
    rows = gm.hook_table(recorded)
    assert len(rows) == sum(len(r) for r in recorded.values()) and any(hooks for _, hooks in rows)
    assert ("git reset --hard HEAD~2", ["post-index-change 1 0"]) in rows
    version = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    text = gm.table_markdown(rows, version)
    if HOOK_TABLE_PATH:
        Path(HOOK_TABLE_PATH).write_text(text)
        return
    # docs/git-hooks-table.md is this table, measured on the git the project is tested with
    committed = DOC_TABLE.read_text(encoding="utf-8")
    if f"({version})" not in committed:
        pytest.skip(f"docs/git-hooks-table.md was measured on another git than {version}")
    assert committed == text, ("docs/git-hooks-table.md is out of date: regenerate it with "
                               "EOSVC_HOOK_TABLE=docs/git-hooks-table.md pytest tests/test_git_hooks_recorded.py")
