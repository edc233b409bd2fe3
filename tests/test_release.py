"""Releases by version expression: `--release SPEC` on checkout, fetch, cat and export picks
the highest tag matching a PEP 440 (or semver-style) specifier."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import eosvc, git
from helpers import clone, commit_all, new_repo, snapshot, write

from git_eosvc.errors import UsageError
from git_eosvc.release import Release, pick, specifier, version_of

TAGS = ["v0.1.0", "v0.1.5", "v0.2.0", "1.0.0rc1"]


def _releases(*names: str) -> list[Release]:
    out = []
    for name in names:
        v = version_of(name)
        assert v is not None, name
        out.append(Release(name, v, "0" * 40))
    return out


@pytest.mark.parametrize("spec, tag", [
    (">=0.1,<0.2", "v0.1.5"),
    (">= 0.1, < 0.2", "v0.1.5"),
    (">=0.1 <0.2", "v0.1.5"),  # semver ranges separate comparators by spaces
    ("~=0.1.0", "v0.1.5"),
    ("==0.1.*", "v0.1.5"),
    ("0.1.x", "v0.1.5"),
    ("^0.1", "v0.1.5"),
    ("~0.1.2", "v0.1.5"),
    ("0.1.0", "v0.1.0"),
    ("v0.1.0", "v0.1.0"),
    ("<v0.2", "v0.1.5"),
    ("latest", "v0.2.0"),  # pre-releases only when named
    ("", "v0.2.0"),
    ("^0", "v0.2.0"),
    (">=1.0rc1", "1.0.0rc1"),
    ("!=0.2.0", "v0.1.5"),
])
def test_the_highest_matching_tag_is_picked(spec: str, tag: str) -> None:
    assert pick(_releases(*TAGS), spec).tag == tag


def test_no_match_names_the_tags_seen() -> None:
    with pytest.raises(UsageError) as err:
        pick(_releases(*TAGS), ">=1.0")
    assert "no release tag matches '>=1.0'" in err.value.message
    assert all(t in err.value.message for t in TAGS)
    with pytest.raises(UsageError) as err:
        pick([], ">=1.0")
    assert "no tag here names a version" in err.value.message
    with pytest.raises(UsageError, match="not a version expression"):
        specifier(">>1")


def test_tag_names_as_versions() -> None:
    assert version_of("v1.2.3") == version_of("1.2.3")
    assert str(version_of("1.0.0-rc.1")) == "1.0.0rc1"  # semver's spelling
    assert version_of("release-candidate") is None and version_of("latest") is None


@pytest.fixture
def released(tmp_path: Path, remote: Path, s3) -> Path:  # type: ignore[no-untyped-def]
    """A remote with one commit per tag, data/x.csv naming the tag; plus an unversioned tag."""
    a = new_repo(tmp_path, remote, "publisher")
    for tag in TAGS:
        write(a, "data/x.csv", f"release {tag}\n")
        commit_all(a, tag)
        git(a, "tag", "-a", "-m", tag, tag) if tag.startswith("v0.2") else git(a, "tag", tag)
    git(a, "tag", "nightly")
    write(a, "data/x.csv", "main\n")
    commit_all(a, "after")
    git(a, "push", "-q", "-u", "origin", "main", "--tags")
    return remote


def test_release_on_cat_export_fetch_and_checkout(tmp_path: Path, released: Path) -> None:
    c = clone(tmp_path, released, "c")
    eosvc(c, "install")
    before = snapshot(c, "data")
    proc = eosvc(c, "cat", "--release", ">=0.1,<0.2", "data/x.csv")
    assert proc.stdout == "release v0.1.5\n" and "release v0.1.5" in proc.stderr
    assert eosvc(c, "cat", "--release", "^0.2", "data/x.csv").stdout == "release v0.2.0\n"  # annotated tag
    eosvc(c, "export", "--release", "~=0.1.0", "data/x.csv", str(tmp_path / "x.csv"))
    assert (tmp_path / "x.csv").read_text() == "release v0.1.5\n"
    assert snapshot(c, "data") == before  # nothing materialised by reading

    fetched = eosvc(c, "fetch", "--release", "<0.1.5")
    assert "release v0.1.0" in fetched.stderr and "downloaded 1 object(s)" in fetched.stderr

    none = eosvc(c, "checkout", "--release", ">=3", check=False)
    assert none.returncode == 2 and "no release tag matches '>=3'" in none.stderr
    assert "v0.1.5" in none.stderr and "nightly" not in none.stderr
    bad = eosvc(c, "cat", "--release", ">=0.1", "HEAD:data/x.csv", check=False)
    assert bad.returncode == 2 and "not REV:PATH" in bad.stderr
    with_path = eosvc(c, "checkout", "--release", ">=0.1", "data/x.csv", check=False)
    assert with_path.returncode == 2 and "takes no PATH" in with_path.stderr

    dry = eosvc(c, "checkout", "--release", ">=0.1,<0.2", "--dry-run")
    assert "checkout v0.1.5" in dry.stdout and git(c, "symbolic-ref", "-q", "HEAD").stdout.strip() == "refs/heads/main"

    done = eosvc(c, "checkout", "--release", ">=0.1,<0.2")
    assert "HEAD is now at v0.1.5 (detached)" in done.stderr
    assert git(c, "rev-parse", "HEAD").stdout == git(c, "rev-parse", "v0.1.5^{commit}").stdout
    assert git(c, "symbolic-ref", "-q", "HEAD", check=False).returncode == 1  # detached, as git checks out a tag
    assert (c / "data/x.csv").read_text() == "release v0.1.5\n"
    assert git(c, "status", "--porcelain").stdout == ""

    git(c, "switch", "-q", "main")  # back: the hooks materialise main's artifacts
    assert (c / "data/x.csv").read_text() == "main\n"
