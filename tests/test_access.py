"""access.json validation, kinds, the private default and the access lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from git_eosvc import access
from git_eosvc.errors import ConfigError


def test_standard_repo_sections_and_private_default() -> None:
    m = access.parse('{"data": "Public ", "output": "PRIVATE"}')
    assert m.kind == "standard"
    got = {s.path: s.access for s in m.sections}
    assert got == {"data": "public", "output": "private", "model/checkpoints": "private",
                   "model/framework/fit": "private"}
    only_data = access.parse('{"data": "public"}')
    assert only_data.section("output").access == "private"


def test_model_repo_per_part_and_whole() -> None:
    whole = access.parse('{"model": "public"}')
    assert whole.kind == "model"
    assert [s.path for s in whole.sections] == ["model/checkpoints", "model/framework/fit"]
    assert all(s.public for s in whole.sections)
    parts = access.parse('{"checkpoints": "public"}')
    assert parts.section("checkpoints").public and not parts.section("fit").public
    assert parts.section_of("data/x") is None


@pytest.mark.parametrize("text,needle", [
    ("{", "not valid JSON"),
    ("[]", "must be a JSON object"),
    ("{}", "names no section"),
    ('{"data": "open"}', "'data'"),
    ('{"data": true}', "'data'"),
    ('{"datas": "public"}', "unknown key 'datas'"),
    ('{"data": "public", "checkpoints": "public"}', "mixes"),
    ('{"model": "public", "fit": "private"}', "either"),
    ('{"Data": "public", "data": "private"}', "twice"),
    # issue 9, item 5: json.loads keeps the last of two equal keys silently; we refuse
    ('{"data": "public", "output": "private", "output": "public"}', "key 'output' appears twice"),
    ('{"data": "public", "output": {"x": 1, "x": 2}}', "key 'x' appears twice"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),  # a RecursionError before
    ('{"data": ' + "[" * 100_000, "nested too deeply"),
    ('{"data": ' + "1" * 5000 + "}", "number is too long"),  # a ValueError before
    ('{"data": [' + ",".join(["1"] * 100_000) + "]}", "not a JSON array"),  # not echoed whole
])
def test_malformed_access_is_a_config_error_naming_file_and_key(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        access.parse(text)
    assert "access.json" in info.value.message
    assert needle in info.value.message
    assert info.value.exit_code == 2
    assert len(str(info.value)) < 300


def test_a_duplicate_key_never_decides_access(tmp_path: Path) -> None:
    """The last "output" would have made output public: the file is refused instead."""
    (tmp_path / "access.json").write_text('{"data": "public", "output": "private", "output": "public"}')
    with pytest.raises(ConfigError, match="appears twice") as info:
        access.load(tmp_path)
    assert info.value.exit_code == 2


def test_lock_written_on_first_use_then_enforced(tmp_path: Path) -> None:
    from git_eosvc.lock import AccessLock

    state, work = tmp_path / "git" / "eosvc", tmp_path / "work"
    lock = AccessLock(state, work)
    m = access.parse('{"data": "public", "output": "private"}')
    assert lock.check(m) is False  # a first use is not an override
    written = json.loads((state / "access.lock.json").read_text())
    assert written["sections"]["data"] == "public"
    lock.check(m)  # same map: fine
    flipped = access.parse('{"data": "private", "output": "private"}')
    with pytest.raises(ConfigError) as info:
        lock.check(flipped)
    assert "lock:" in info.value.message and "now:" in info.value.message
    assert "delete" in (info.value.hint or "")
    (state / "access.lock.json").unlink()
    assert lock.check(flipped) is True  # deleted on purpose: one push may carry the change
    assert lock.check(flipped) is True
    lock.settle()
    assert lock.check(flipped) is False


def test_an_old_work_tree_lock_is_moved_in_unless_git_tracks_it(tmp_path: Path) -> None:
    from git_eosvc.lock import AccessLock

    work = tmp_path / "work"
    old = work / ".eosvc" / "access.lock.json"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"kind": "standard", "sections": {"data": "public", "output": "private",
                                                                "model/checkpoints": "private",
                                                                "model/framework/fit": "private"}}))
    flipped = access.parse('{"data": "public", "output": "public"}')
    tracked = AccessLock(tmp_path / "a" / "eosvc", work)
    tracked.check(flipped, tracked=lambda p: True)  # a commit wrote it: not adopted
    assert old.exists()
    moved = AccessLock(tmp_path / "b" / "eosvc", work)
    with pytest.raises(ConfigError):
        moved.check(flipped, tracked=lambda p: False)  # adopted: it pins output private
    assert not old.exists() and (tmp_path / "b" / "eosvc" / "access.lock.json").exists()


def test_missing_access_json_says_how_to_add_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        access.load(tmp_path)
    assert "git eosvc init" in (info.value.hint or "")


def test_every_section_any_kind_can_have_is_known_to_the_hooks_fast_path() -> None:
    """The sh fast path of the hooks compares exactly access.MANIFESTS: a section missing
    there would never be reconciled without Python noticing."""
    seen = set()
    for text in ('{"data": "public", "output": "private", "model": "public"}', '{"model": "public"}',
                 '{"checkpoints": "public", "fit": "private"}'):
        seen |= {s.manifest for s in access.parse(text).sections}
    assert seen == set(access.MANIFESTS)
