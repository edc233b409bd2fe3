"""Issue 12 item 3, issue 13: credentials from explicit sources only — the environment, a
profile the user names (AWS_PROFILE or `git config eosvc.profile`) from the shared files,
then ~/.eosvc/.config as EOSVC 1.x's `eosvc config` writes it; never an unnamed [default],
instance metadata or `.env`. Which source was used is shown (doctor, refusals), never the
secret. End to end on real git and the suite's S3 server; the autouse fixture's HOME is a
temporary folder, so every ~/.aws and ~/.eosvc file here is the test's own."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KEYS, S3, eosvc, git
from helpers import clone, commit_all, new_repo, obj_key, snapshot, write

from git_eosvc import credentials as creds
from git_eosvc.errors import CredentialsError

SECRET = "wJalrXUtnFEMI-K7MDENG-very-secret"
TOKEN = "FwoGZXIvYXdzE-session-token"


def aws_files(home: Path, credentials: str = "", config: str = "") -> None:
    (home / ".aws").mkdir(exist_ok=True)
    if credentials:
        (home / ".aws" / "credentials").write_text(credentials)
    if config:
        (home / ".aws" / "config").write_text(config)


def eosvc_config(home: Path, text: str) -> Path:
    path = home / ".eosvc" / ".config"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


def only_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """No keys in the environment: whatever signs must come from a file."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)


# ------------------------------------------------------------------------- the order


def test_environment_then_named_profile_then_eosvc_config(git_env: Path) -> None:
    home = {"HOME": str(git_env)}
    aws_files(git_env, "[work]\naws_access_key_id = AKIAPROFILEKEY0001\naws_secret_access_key = p-secret\n")
    eosvc_config(git_env, "AWS_ACCESS_KEY_ID=AKIAEOSVCCONFIG001\nAWS_SECRET_ACCESS_KEY=e-secret\n")
    env = dict(home, AWS_ACCESS_KEY_ID="AKIAENVIRONMENT001", AWS_SECRET_ACCESS_KEY="env-secret")

    first = creds.find(env, "work").credentials
    assert first is not None and first.access_key_id == "AKIAENVIRONMENT001"
    assert first.source == "AWS_ACCESS_KEY_ID in the environment"
    second = creds.find(home, "work", "AWS_PROFILE").credentials
    assert second is not None and second.access_key_id == "AKIAPROFILEKEY0001"
    assert second.describe() == "the access key AKIA…001 from AWS_PROFILE=work (~/.aws/credentials)"
    named_in_git = creds.find(home, "work", "git config eosvc.profile").credentials
    assert named_in_git is not None and "git config eosvc.profile=work" in named_in_git.source
    third = creds.find(home).credentials
    assert third is not None and third.access_key_id == "AKIAEOSVCCONFIG001"
    assert third.source == "~/.eosvc/.config (eosvc config)"
    (git_env / ".eosvc" / ".config").unlink()
    nothing = creds.find(home)
    assert nothing.credentials is None
    assert nothing.describe() == ("anonymous: no credentials found in the environment, a named AWS profile "
                                  "(AWS_PROFILE or git config eosvc.profile), or ~/.eosvc/.config")


def test_an_unnamed_default_profile_and_instance_metadata_are_never_used(git_env: Path) -> None:
    aws_files(git_env, "[default]\naws_access_key_id = AKIADEFAULT0000001\naws_secret_access_key = d\n",
              "[default]\nregion = eu-central-2\ncredential_source = Ec2InstanceMetadata\n")
    env = {"HOME": str(git_env), "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://192.0.2.1",
           "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://192.0.2.1/creds"}
    assert creds.find(env).credentials is None
    named = creds.find(env, "default").credentials  # named explicitly: read
    assert named is not None and named.access_key_id == "AKIADEFAULT0000001"
    assert named.region == "eu-central-2"  # the region of [default] in ~/.aws/config


def test_shared_files_honour_their_variables_and_the_config_file_format(git_env: Path, tmp_path: Path) -> None:
    cred_file, conf_file = tmp_path / "creds.ini", tmp_path / "config.ini"
    cred_file.write_text("[both]\naws_access_key_id = AKIAFROMCREDSFILE1\naws_secret_access_key = c\n")
    conf_file.write_text("[profile both]\naws_access_key_id = AKIAFROMCONFIGFILE\naws_secret_access_key = x\n"
                         "region = ap-south-1\ns3 =\n  addressing_style = path\n"
                         "[profile conf-only]\naws_access_key_id = AKIACONFIGONLY0001\n"
                         "aws_secret_access_key = y\naws_session_token = tok\n")
    aws_files(git_env, "[both]\naws_access_key_id = AKIAIGNOREDHOME001\naws_secret_access_key = z\n")
    env = {"HOME": str(git_env), "AWS_SHARED_CREDENTIALS_FILE": str(cred_file), "AWS_CONFIG_FILE": str(conf_file)}
    both = creds.find(env, "both").credentials
    assert both is not None and both.access_key_id == "AKIAFROMCREDSFILE1"  # credentials file first
    assert both.region == "ap-south-1" and str(cred_file) in both.source
    conf_only = creds.find(env, "conf-only").credentials
    assert conf_only is not None and conf_only.session_token == "tok"
    assert f"AWS_PROFILE=conf-only ({conf_file})" in conf_only.source


@pytest.mark.parametrize("config, needle", [
    ("", "names a profile that is in neither ~/.aws/credentials nor ~/.aws/config"),
    ("[profile work]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\n", "through role_arn, source_profile"),
    ("[profile work]\nsso_session = corp\nsso_account_id = 1\n", "through sso_account_id, sso_session"),
    ("[profile work]\ncredential_process = /bin/echo\n", "through credential_process"),
    ("[profile work]\naws_access_key_id = AKIAHALFONLY000001\n", "aws_access_key_id is set but aws_secret"),
    ("[profile work\nbroken", "~/.aws/config cannot be read"),
])
def test_a_named_profile_that_gives_no_keys_is_an_error_with_a_way_out(git_env: Path, config: str,
                                                                      needle: str) -> None:
    aws_files(git_env, config=config or "[profile other]\nregion = x\n")
    with pytest.raises(CredentialsError) as info:
        creds.find({"HOME": str(git_env)}, "work", "AWS_PROFILE")
    assert needle in info.value.message, info.value.message
    assert info.value.exit_code == 2 and info.value.hint
    if "through" in needle:
        assert "aws configure export-credentials --profile work" in info.value.hint


def test_half_pairs_are_errors_and_no_message_shows_a_secret(git_env: Path) -> None:
    eosvc_config(git_env, f"AWS_SECRET_ACCESS_KEY={SECRET}\n")
    with pytest.raises(CredentialsError, match="AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") as info:
        creds.find({"HOME": str(git_env)})
    assert SECRET not in str(info.value)
    aws_files(git_env, f"[p]\naws_secret_access_key = {SECRET}\n")
    with pytest.raises(CredentialsError) as info:
        creds.find({"HOME": str(git_env)}, "p")
    assert SECRET not in str(info.value)
    c = creds.Credentials("AKIAEXAMPLEKEYID", SECRET, TOKEN, source="AWS_PROFILE=p (~/.aws/credentials)")
    for text in (repr(c), str(c), f"{c}", c.describe(), creds.describe(c)):
        assert SECRET not in text and TOKEN not in text and "AKIAEXAMPLEKEYID" not in text
    assert c.key_shown == "AKIA…YID"
    assert creds.Credentials("testing", "x").key_shown == "…ng"  # a short id shows almost nothing


def test_eosvc_config_is_read_as_python_dotenv_reads_it(git_env: Path) -> None:
    """EOSVC loads ~/.eosvc/.config with python-dotenv: the same values here."""
    from dotenv import dotenv_values

    text = ('# written by hand\nexport AWS_ACCESS_KEY_ID="AKIAQUOTED00000001"\n'
            "AWS_SECRET_ACCESS_KEY='s3cr3t with # hash'\nAWS_SESSION_TOKEN=tok # a comment\n"
            "\nAWS_DEFAULT_REGION=eu-central-2\n")
    path = eosvc_config(git_env, text)
    ours = creds.parse_dotenv(text)
    theirs = dotenv_values(path)
    assert {k: ours[k] for k in theirs} == theirs
    found = creds.find({"HOME": str(git_env)}).credentials
    assert found is not None and found.secret_access_key == "s3cr3t with # hash"
    assert found.session_token == "tok" and found.region == "eu-central-2"


# ------------------------------------------------------------------------- eosvc config


def test_eosvc_config_writes_eosvc_1x_file_format_mode_0600(git_env: Path, tmp_path: Path) -> None:
    """Exactly the bytes EOSVC 1.3.0's write_home_env writes, from its first byte 0600;
    run outside any repository; the secret is never echoed."""
    from dotenv import dotenv_values

    proc = eosvc(tmp_path, "config", "--access-key-id", " AKIAWRITTEN0000001 ", "--secret-access-key", SECRET,
                 "--session-token", TOKEN, "--region", "eu-central-2", "--default-region", "eu-west-1")
    path = git_env / ".eosvc" / ".config"
    assert path.read_text() == (f"AWS_ACCESS_KEY_ID=AKIAWRITTEN0000001\nAWS_SECRET_ACCESS_KEY={SECRET}\n"
                                f"AWS_SESSION_TOKEN={TOKEN}\nAWS_REGION=eu-central-2\n"
                                "AWS_DEFAULT_REGION=eu-west-1\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert dotenv_values(path)["AWS_SECRET_ACCESS_KEY"] == SECRET  # what EOSVC would load
    assert SECRET not in proc.stdout + proc.stderr and TOKEN not in proc.stdout + proc.stderr
    assert "~/.eosvc/.config" in proc.stderr
    eosvc(tmp_path, "config", "--access-key-id", "AKIASECOND00000002", "--secret-access-key", "second")
    assert path.read_text() == "AWS_ACCESS_KEY_ID=AKIASECOND00000002\nAWS_SECRET_ACCESS_KEY=second\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(path.parent.iterdir()) == [path]  # no temporary file left
    missing = eosvc(tmp_path, "config", "--access-key-id", "x", check=False)
    assert missing.returncode == 2 and "--secret-access-key" in missing.stderr


# ------------------------------------------------------------------------- end to end


def test_push_and_pull_private_data_with_keys_only_in_a_named_profile_or_eosvc_config(
        tmp_path: Path, remote: Path, s3: S3, git_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    aws_files(git_env, f"[work]\naws_access_key_id = {KEYS[0]}\naws_secret_access_key = {KEYS[1]}\n")
    a = new_repo(tmp_path, remote)
    write(a, "output/secret.csv", "private\n")
    commit_all(a, "private data")
    only_files(monkeypatch)
    refused = git(a, "push", "-q", "-u", "origin", "main", check=False)
    assert refused.returncode != 0 and "no credentials" in refused.stderr
    assert "git config eosvc.profile" in refused.stderr  # the hint names every way
    git(a, "config", "eosvc.profile", "work")  # this clone names the profile
    git(a, "push", "-q", "-u", "origin", "main")
    assert obj_key("private\n") in s3.keys(s3.private_bucket)
    doctor = eosvc(a, "doctor")
    assert "from git config eosvc.profile=work (~/.aws/credentials)" in doctor.stdout

    b = clone(tmp_path, remote, "b")
    proc = eosvc(b, "install")  # no profile named here: skipped
    assert "skipped private section output/" in proc.stderr and not (b / "output/secret.csv").exists()
    monkeypatch.setenv("AWS_PROFILE", "work")
    eosvc(b, "checkout")
    assert snapshot(b, "output") == {"output/secret.csv": b"private\n"}

    monkeypatch.delenv("AWS_PROFILE")
    c = clone(tmp_path, remote, "c")
    eosvc(tmp_path, "config", "--access-key-id", KEYS[0], "--secret-access-key", KEYS[1])
    eosvc(c, "install")
    assert snapshot(c, "output") == {"output/secret.csv": b"private\n"}
    assert "from ~/.eosvc/.config (eosvc config)" in eosvc(c, "doctor").stdout


def test_a_refusal_names_the_key_and_its_source_never_the_secret(
        tmp_path: Path, remote: Path, s3: S3, git_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: whatever server refuses, the error says which credentials were (not) used.
    A fault proxy in front of the suite's server answers 403 AccessDenied to everything."""
    from faultproxy import FaultProxy, Status

    a = new_repo(tmp_path, remote)
    write(a, "data/pub.csv", "public\n")
    commit_all(a, "data")
    git(a, "push", "-q", "-u", "origin", "main")
    b = clone(tmp_path, remote, "b")
    eosvc(b, "install", env={"EOSVC_SKIP": "1"})  # nothing downloaded yet
    write(a, "data/more.csv", "more\n")
    commit_all(a, "more")
    aws_files(git_env, f"[foo]\naws_access_key_id = AKIAREFUSEDKEY0XYZ\naws_secret_access_key = {SECRET}\n")
    only_files(monkeypatch)
    monkeypatch.setenv("AWS_PROFILE", "foo")
    with FaultProxy(s3.endpoint) as proxy:
        monkeypatch.setenv("EOSVC_ENDPOINT_URL", proxy.url)
        proxy.add(Status(403, "AccessDenied"), times=None)
        proc = eosvc(a, "push", check=False)
        assert proc.returncode != 0
        assert ("S3 refused the request (403 AccessDenied) signed with the access key AKIA…XYZ from "
                "AWS_PROFILE=foo (~/.aws/credentials)") in proc.stderr, proc.stderr
        assert SECRET not in proc.stderr + proc.stdout and "AKIAREFUSEDKEY0XYZ" not in proc.stderr
        monkeypatch.delenv("AWS_PROFILE")
        anon = eosvc(b, "download", "--path", "data", check=False)
        assert anon.returncode == 1
        assert ("S3 refused the request (403 AccessDenied), which was anonymous: no credentials found in the "
                "environment") in anon.stderr, anon.stderr
    assert not (b / "data/pub.csv").exists()


def test_a_dotenv_with_keys_is_pointed_out_never_read(tmp_path: Path, remote: Path, s3: S3,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "output/x.csv", "x\n")
    commit_all(a, "x")
    (a / ".env").write_text(f"AWS_ACCESS_KEY_ID={KEYS[0]}\nAWS_SECRET_ACCESS_KEY={SECRET}\n")
    only_files(monkeypatch)
    proc = git(a, "push", "-q", "-u", "origin", "main", check=False)  # the pre-push hook refuses
    assert proc.returncode != 0 and "no credentials" in proc.stderr
    assert ".env holds AWS keys, which git-eosvc never reads from .env files: `set -a; . ./.env; set +a`" \
        in proc.stderr, proc.stderr
    assert SECRET not in proc.stderr
    doctor = eosvc(a, "doctor")
    assert "credentials: none found in the environment" in doctor.stdout and ".env holds AWS keys" in doctor.stdout
    assert SECRET not in doctor.stdout


def test_doctor_shows_sources_and_notes_without_secrets(tmp_path: Path, remote: Path, s3: S3, git_env: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    a = new_repo(tmp_path, remote)
    only_files(monkeypatch)
    aws_files(git_env, f"[default]\naws_access_key_id = AKIADEFAULTKEY0001\naws_secret_access_key = {SECRET}\n")
    monkeypatch.setenv("AWS_REGION", "eu-central-2")
    proc = eosvc(a, "doctor")
    out = proc.stdout
    assert "standard repo: data/ public, output/ private" in out
    assert "region:" in out and "eu-central-2 (AWS_REGION)" in out
    assert "access lock:" in out and "hooks:" in out and "installed" in out
    assert "has a [default] profile, not used unless named" in out and "AWS_PROFILE=default" in out
    assert SECRET not in out + proc.stderr and "AKIADEFAULTKEY0001" not in out
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    out = eosvc(a, "doctor").stdout
    assert "the access key AKIA…001 from AWS_ACCESS_KEY_ID in the environment, with a session token" in out
    assert SECRET not in out and TOKEN not in out
    loose = eosvc_config(git_env, "AWS_ACCESS_KEY_ID=a\nAWS_SECRET_ACCESS_KEY=b\n")
    loose.chmod(0o644)
    proc = eosvc(tmp_path, "doctor", check=False)  # outside any repository
    assert proc.returncode == 2 and "readable by others" in proc.stdout and "chmod 600" in proc.stdout
    assert "none here (not a git repository" in proc.stdout


def test_hooks_and_status_read_no_credential_file_when_nothing_is_transferred(
        tmp_path: Path, remote: Path, s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    """A named profile that does not exist fails only what needs credentials: code commits,
    checkouts with nothing to download and status never look it up."""
    a = new_repo(tmp_path, remote)
    write(a, "data/a.csv", "a\n")
    commit_all(a, "data")
    only_files(monkeypatch)
    monkeypatch.setenv("AWS_PROFILE", "does-not-exist")
    write(a, "README", "code\n")
    git(a, "add", "README")
    commit = git(a, "commit", "-q", "-m", "code")
    git(a, "checkout", "-q", "-b", "topic")
    git(a, "checkout", "-q", "main")
    status = eosvc(a, "status")
    for proc in (commit, status):
        assert "does-not-exist" not in proc.stderr, proc.stderr
    refused = eosvc(a, "push", check=False)
    assert refused.returncode == 2 and "AWS_PROFILE=does-not-exist names a profile" in refused.stderr


def test_credentials_module_imports_no_botocore() -> None:
    code = ("import sys, git_eosvc.credentials, git_eosvc.doctor; "
            "sys.exit(1 if 'botocore' in sys.modules else 0)")
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(root)))
    assert proc.returncode == 0


def test_region_from_the_credentials_source_only_when_nothing_else_names_one() -> None:
    from git_eosvc import config
    from git_eosvc.s3client import region_for

    c = creds.Credentials("a", "b", region="eu-central-2")
    assert region_for(config.resolve({}, {}, {}, "r"), c) == "eu-central-2"
    assert region_for(config.resolve({}, {}, {}, "r"), None) == "us-east-1"
    assert region_for(config.resolve({"AWS_REGION": "ap-south-1"}, {}, {}, "r"), c) == "ap-south-1"
    assert region_for(config.resolve({}, {}, {"eosvc.region": "us-west-2"}, "r"), c) == "us-west-2"
