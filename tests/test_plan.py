"""The checkout plan: the no-data-loss rule as a pure function."""

from __future__ import annotations

from git_eosvc.hashing import hash_bytes
from git_eosvc.manifest import Entry
from git_eosvc.plan import plan_checkout

OLD, NEW, MINE, SAVED = (hash_bytes(x) for x in (b"old", b"new", b"mine", b"saved"))


def e(path: str, oid: str) -> Entry:
    return Entry(path, oid, 3)  # type: ignore[arg-type]


def test_every_case_of_the_rule() -> None:
    old = {p: e(p, OLD) for p in ("data/same", "data/clean", "data/edited", "data/saved",
                                   "data/gone-clean", "data/gone-edited", "data/gone-absent")}
    new = {p: e(p, NEW) for p in ("data/absent", "data/clean", "data/edited", "data/saved")}
    new["data/same"] = e("data/same", OLD)
    current = {"data/same": e("data/same", OLD), "data/clean": e("data/clean", OLD),
               "data/edited": e("data/edited", MINE), "data/saved": e("data/saved", SAVED),
               "data/gone-clean": e("data/gone-clean", OLD),
               "data/gone-edited": e("data/gone-edited", MINE)}
    plan = plan_checkout(old, new, current, in_store=lambda oid: oid == SAVED)
    assert sorted(x.path for x in plan.write) == ["data/absent", "data/clean", "data/saved"]
    assert [x.path for x in plan.delete] == ["data/gone-clean"]
    assert sorted(plan.keep) == [("data/edited", "modified locally; not replaced"),
                                 ("data/gone-edited", "modified locally; not deleted")]
    assert plan.stash == []

    forced = plan_checkout(old, new, current, in_store=lambda oid: oid == SAVED, discard=True)
    assert sorted(x.path for x in forced.stash) == ["data/edited", "data/gone-edited"]
    assert "data/edited" in {x.path for x in forced.write}
    assert {x.path for x in forced.delete} == {"data/gone-clean", "data/gone-edited"}
    assert forced.keep == []


def test_blocked_and_out_of_scope_paths_are_never_touched() -> None:
    old = {"data/a": e("data/a", OLD), "data/b": e("data/b", OLD)}
    new = {"data/a": e("data/a", NEW)}
    current = {"data/a": e("data/a", OLD), "data/b": e("data/b", OLD)}
    plan = plan_checkout(old, new, current, lambda oid: True, discard=True,
                         blocked=lambda p: p == "data/a")
    assert plan.write == [] and plan.stash == []
    assert plan.keep == [("data/a", "could not be read safely; not replaced")]
    assert [x.path for x in plan.delete] == ["data/b"]
    scoped = plan_checkout(old, new, current, lambda oid: True, only=lambda p: p == "data/a")
    assert [x.path for x in scoped.write] == ["data/a"] and scoped.delete == []
