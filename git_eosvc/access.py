"""access.json: repo kinds, sections and their access.

`parse` is pure; `load` reads the file. The lock of what this clone agreed to is lock.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, UsageError
from .manifest import manifest_name

ACCESS_FILE = "access.json"
STANDARD, MODEL = "standard", "model"
_STANDARD_KEYS = ("data", "output", "model")
_MODEL_KEYS = ("model", "checkpoints", "fit", "framework")  # framework: EOSVC 0.1.2's name for fit
_VALUES = ("public", "private")
# every manifest any kind of repo can have (the hooks' no-Python fast path checks these)
SECTION_PATHS = ("data", "output", "model/checkpoints", "model/framework/fit")  # every kind's, together
MANIFESTS = tuple(manifest_name(p) for p in SECTION_PATHS)


@dataclass(frozen=True)
class Section:
    """A managed directory: `path` relative to the repo root, `key` its access.json key."""

    name: str  # data, output, checkpoints, fit
    path: str  # data, output, model/checkpoints, model/framework/fit
    key: str   # the access.json key that decides it
    public: bool

    @property
    def manifest(self) -> str:
        return manifest_name(self.path)

    @property
    def access(self) -> str:
        return "public" if self.public else "private"

    def contains(self, relpath: str) -> bool:
        return relpath == self.path or relpath.startswith(self.path + "/")


@dataclass(frozen=True)
class AccessMap:
    kind: str
    sections: tuple[Section, ...]
    # the sections access.json names (directly or through "model"); the others are private
    # by default here, public under EOSVC's rules (lock.py compares EOSVC's own locks so)
    explicit: frozenset[str] = field(default=frozenset(), compare=False)

    def section(self, name_or_path: str) -> Section:
        for s in self.sections:
            if name_or_path in (s.name, s.path):
                return s
        raise UsageError(f"no section {name_or_path!r} in this {self.kind} repo")

    def section_of(self, relpath: str) -> Section | None:
        for s in self.sections:
            if s.contains(relpath):
                return s
        return None

    def as_dict(self) -> dict[str, object]:
        """The resolved map, as the lock stores it."""
        return {"kind": self.kind, "sections": {s.path: s.access for s in self.sections}}


def _value(raw: object, key: str, source: str) -> bool:
    if isinstance(raw, str) and raw.strip().lower() in _VALUES:
        return raw.strip().lower() == "public"
    raise ConfigError(f"{source}: key {key!r} must be \"public\" or \"private\", not {_shown(raw)}")


def _shown(raw: object) -> str:
    """A value for a message: short, never a whole nested structure."""
    if isinstance(raw, (dict, list)):
        return "a JSON object" if isinstance(raw, dict) else "a JSON array"
    return json.dumps(raw)[:40]


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """json's object_pairs_hook: json.loads would silently keep the last of two equal keys."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def load_json(text: str, source: str, example: str) -> object:
    """Strict JSON: a repeated key, nesting too deep for the parser, or a number too long to
    read is a ConfigError naming `source` (exit 2), never a traceback."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise ConfigError(f"{source}: key {str(exc)[:60]!r} appears twice",
                          hint="keep one; JSON readers disagree about which one counts") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
                          hint=f"expected e.g. {example}") from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to be read", hint=f"expected e.g. {example}") from None
    except ValueError:  # json.loads' only other refusal: an integer longer than 4300 digits
        raise ConfigError(f"{source}: a number is too long to be read", hint=f"expected e.g. {example}") from None


def parse(text: str, source: str = ACCESS_FILE) -> AccessMap:
    """Validate access.json strictly; a missing key means private (the secure default)."""
    data = load_json(text, source, '{"data": "public", "output": "private"}')
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must be a JSON object like {{\"data\": \"public\", \"output\": \"private\"}}")
    keys = {k.strip().lower() if isinstance(k, str) else k: k for k in data}
    norm = {k: data[orig] for k, orig in keys.items()}
    if len(norm) != len(data):
        raise ConfigError(f"{source}: a key appears twice (keys are case-insensitive)")
    for k in norm:
        if k not in _STANDARD_KEYS and k not in _MODEL_KEYS:
            raise ConfigError(f"{source}: unknown key {keys[k]!r}",
                              hint="allowed keys: data, output, model (standard repo) or "
                                   "model / checkpoints, fit (model repo; framework = fit)")
    access = {k: _value(v, keys[k], source) for k, v in norm.items()}
    fit_key = "fit"
    if "framework" in access:  # an EOSVC 0.1.2 model repo
        if "fit" in access:
            raise ConfigError(f"{source}: \"framework\" (EOSVC 0.1.2's name) and \"fit\" both name "
                              "model/framework/fit/", hint='keep one: {"checkpoints": ..., "fit": ...}')
        access["fit"] = access.pop("framework")
        fit_key = keys["framework"]
    standard = {"data", "output"} & access.keys()
    model_parts = {"checkpoints", "fit"} & access.keys()
    if standard and model_parts:
        raise ConfigError(f"{source}: mixes standard keys ({', '.join(sorted(standard))}) "
                          f"with model-repo keys ({', '.join(sorted(model_parts))})")
    if not access:
        raise ConfigError(f"{source}: names no section",
                          hint='e.g. {"data": "public", "output": "private"} or {"model": "public"}')
    model_default = access.get("model", False)
    named = frozenset(({"checkpoints", "fit"} if "model" in access else set()) | set(access)) - {"model"}
    if standard:
        return AccessMap(STANDARD, (
            Section("data", "data", "data", access.get("data", False)),
            Section("output", "output", "output", access.get("output", False)),
            Section("checkpoints", "model/checkpoints", "model", model_default),
            Section("fit", "model/framework/fit", "model", model_default),
        ), named)
    if "model" in access and model_parts:
        raise ConfigError(f"{source}: use either \"model\" or \"checkpoints\"/\"fit\", not both")
    return AccessMap(MODEL, (
        Section("checkpoints", "model/checkpoints", "checkpoints" if model_parts else "model",
                access.get("checkpoints", model_default)),
        Section("fit", "model/framework/fit", fit_key if model_parts else "model",
                access.get("fit", model_default)),
    ), named)


def load(workdir: Path) -> AccessMap:
    path = workdir / ACCESS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no {ACCESS_FILE} in {workdir}",
                          hint="run `git eosvc init` (or add access.json, e.g. "
                               '{"data": "public", "output": "private"}, and commit it)') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {ACCESS_FILE}: {exc}") from None
    return parse(text, ACCESS_FILE)
