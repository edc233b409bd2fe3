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


def test_region_falls_back_to_the_aws_variables_after_every_eosvc_region() -> None:
    """EOSVC_REGION, git config eosvc.region, .eosvcconfig eosvc.region, then AWS_REGION and
    AWS_DEFAULT_REGION (issue 12), then the default; the source is kept for `doctor`."""
    aws = {"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    committed = {"eosvc.region": "us-west-2"}
    assert config.resolve(dict(aws, EOSVC_REGION="sa-east-1"), {}, committed, "f").region == "sa-east-1"
    assert config.resolve(aws, {"eosvc.region": "eu-north-1"}, committed, "f").region == "eu-north-1"
    s = config.resolve(aws, {}, committed, "f")
    assert (s.region, s.region_source) == ("us-west-2", ".eosvcconfig eosvc.region")
    s = config.resolve(aws, {}, {}, "f")
    assert (s.region, s.region_source) == ("ap-south-1", "AWS_REGION")
    assert config.resolve({"AWS_DEFAULT_REGION": "eu-west-1"}, {}, {}, "f").region == "eu-west-1"
    s = config.resolve({}, {}, {}, "f")
    assert (s.region, s.region_source) == (config.DEFAULT_REGION, None)


def test_the_aws_profile_is_named_by_the_clone_never_by_a_commit() -> None:
    assert config.resolve({}, {}, {"eosvc.profile": "from-a-commit"}, "f").profile is None
    s = config.resolve({}, {"eosvc.profile": "work"}, {}, "f")
    assert (s.profile, s.profile_source) == ("work", "git config eosvc.profile")
    s = config.resolve({"AWS_PROFILE": "env"}, {"eosvc.profile": "work"}, {}, "f")
    assert (s.profile, s.profile_source) == ("env", "AWS_PROFILE")
    assert config.profile_of({"AWS_PROFILE": "env"}, {"eosvc.profile": "work"}) == ("env", "AWS_PROFILE")
    assert config.profile_of({}, {"eosvc.profile": "work"}) == ("work", "git config eosvc.profile")
    assert config.profile_of({}, {}) == (None, "git config eosvc.profile")
    with pytest.raises(ConfigError, match="not a profile name"):
        config.resolve({}, {"eosvc.profile": "a]b"}, {}, "f")
