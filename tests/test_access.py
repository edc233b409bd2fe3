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
])
def test_malformed_access_is_a_config_error_naming_file_and_key(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        access.parse(text)
    assert "access.json" in info.value.message
    assert needle in info.value.message
    assert info.value.exit_code == 2


def test_lock_written_on_first_use_then_enforced(tmp_path: Path) -> None:
    m = access.parse('{"data": "public", "output": "private"}')
    access.check_lock(tmp_path, m)
    lock = json.loads((tmp_path / access.LOCK_FILE).read_text())
    assert lock["sections"]["data"] == "public"
    access.check_lock(tmp_path, m)  # same map: fine
    flipped = access.parse('{"data": "private", "output": "private"}')
    with pytest.raises(ConfigError) as info:
        access.check_lock(tmp_path, flipped)
    assert "lock:" in info.value.message and "now:" in info.value.message
    assert "delete" in (info.value.hint or "")
    (tmp_path / access.LOCK_FILE).unlink()
    access.check_lock(tmp_path, flipped)


def test_missing_access_json_says_how_to_add_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        access.load(tmp_path)
    assert "git eosvc init" in (info.value.hint or "")
