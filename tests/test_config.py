"""Settings precedence: environment > clone's git config > .eosvcconfig > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from git_eosvc import config
from git_eosvc.errors import ConfigError


def test_precedence_env_then_clone_then_committed_then_default() -> None:
    committed = {"eosvc.repo": "committed", "eosvc.publicbucket": "pub-c", "eosvc.region": "eu-west-1"}
    clone = {"eosvc.publicbucket": "pub-clone", "eosvc.endpoint": "http://127.0.0.1:1"}
    env = {"EOSVC_ENDPOINT_URL": "http://127.0.0.1:2", "AWS_ENDPOINT_URL": "http://127.0.0.1:3"}
    s = config.resolve(env, clone, committed, "folder")
    assert s.repo == "committed"
    assert s.public_bucket == "pub-clone"
    assert s.private_bucket == config.DEFAULT_PRIVATE_BUCKET
    assert s.endpoint == "http://127.0.0.1:2"
    assert s.region == "eu-west-1"
    assert s.jobs == 16
    assert config.resolve({"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:4",
                           "AWS_ENDPOINT_URL": "http://127.0.0.1:3"}, {}, {}, "f").endpoint == "http://127.0.0.1:4"
    assert config.resolve({}, {}, {}, "folder").repo == "folder"


@pytest.mark.parametrize("env", [{"EOSVC_JOBS": "0"}, {"EOSVC_JOBS": "many"}, {"EOSVC_REPO": "../x"},
                                 {"EOSVC_ENDPOINT_URL": "ftp://x"}, {"EOSVC_LINK_TYPE": "teleport"}])
def test_bad_values_are_config_errors(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        config.resolve(env, {}, {}, "folder")


def test_read_config_file_uses_git_syntax(tmp_path: Path) -> None:
    f = tmp_path / ".eosvcconfig"
    f.write_text('[eosvc]\n\trepo = my-repo\n\tpublicBucket = "pub"\n')
    assert config.read_config_file(f) == {"eosvc.repo": "my-repo", "eosvc.publicbucket": "pub"}
    f.write_text("[eosvc\nbroken")
    with pytest.raises(ConfigError, match=".eosvcconfig"):
        config.read_config_file(f)
