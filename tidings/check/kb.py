"""The knowledge base: curated facts about AI models and benchmarks, each with its source.

Built-in entries live in `tidings/data/kb/*.toml`; users add their own files through the config (`kb = [...]`).
A user file with a mistake is reported (file, line, what is wrong) and skipped: it never disables the built-in KB.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import get_close_matches
from importlib import resources
from pathlib import Path

from tidings.config import read_toml
from tidings.errors import TidingsError

OPENNESS = ("open-weight", "fully-open", "closed")


class KBError(TidingsError, ValueError):
    """A KB file that cannot be used; the message is one line naming the file and line."""


@dataclass(frozen=True)
class Score:
    benchmark: str
    score: float
    setting: str = ""
    reported_by: str = ""
    source: str = ""
    approximate: bool = False  # the figure was given as "about"


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    developer: str = ""
    aliases: tuple[str, ...] = ()
    family: str = ""
    openness: str = ""
    licence: str = ""
    params_total_b: float | None = None
    params_active_b: float | None = None
    architecture: str = ""
    context_tokens: int | None = None
    released: str = ""
    confidence: str = ""
    sources: tuple[str, ...] = ()
    notes: str = ""
    benchmarks: tuple[Score, ...] = ()
    announced: str = ""  # when it differs from the release (o3: announced 2024-12, public 2025-04)
    vendor_comparators: tuple[str, ...] = ()  # the rivals the developer itself compared against
    origin: str = ""  # the file it came from


@dataclass(frozen=True)
class Benchmark:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    measures: str = ""
    notes: str = ""


@dataclass
class KnowledgeBase:
    models: dict[str, Model] = field(default_factory=dict)
    benchmarks: dict[str, Benchmark] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # problems in user files, which were skipped
    _names: dict[str, str] = field(default_factory=dict)  # normalised name or alias -> model id
    _bench_names: dict[str, str] = field(default_factory=dict)
    _developers: dict[str, str] | None = None
    _family_ids: frozenset[str] | None = None
    _family_names: frozenset[str] | None = None
    _texts: list[str] = field(default_factory=list)  # every file loaded, for the fingerprint

    @property
    def fingerprint(self) -> str:
        """A hash of everything the KB was loaded from: when it changes, stored verdicts may be stale."""
        h = hashlib.sha256()
        for text in self._texts:
            h.update(hashlib.sha256(text.encode("utf-8")).digest())
        return h.hexdigest()

    def model(self, name: str) -> Model | None:
        """The model a name or alias refers to ("GPT OSS 120B", "gpt-oss-120b", ...), or None."""
        found = self._names.get(normalise(name))
        return self.models[found] if found else None

    def similar(self, name: str, n: int = 3) -> list[str]:
        """Ids of the models whose names or aliases are spelled most like `name`: for a typo's suggestions."""
        spelled = {s.lower(): m.id for m in self.models.values() for s in (m.id, m.name, *m.aliases)}
        close = get_close_matches(name.lower(), spelled, n=2 * n, cutoff=0.6)
        return list(dict.fromkeys(spelled[c] for c in close))[:n]

    def benchmark(self, name: str) -> Benchmark | None:
        found = self._bench_names.get(normalise(name))
        return self.benchmarks[found] if found else None

    @property
    def display_names(self) -> dict[str, str]:
        """KB ids of models and benchmarks with the names readers know them by ("swe-bench-verified" ->
        "SWE-bench Verified")."""
        return {**{b.id: b.name for b in self.benchmarks.values()}, **{m.id: m.name for m in self.models.values()}}

    @property
    def benchmark_index(self) -> dict[str, str]:
        """Every normalised benchmark name and alias, with the benchmark it means."""
        return self._bench_names

    @property
    def developer_index(self) -> dict[str, str]:
        """Normalised developer names ("alibaba" for "Alibaba (Qwen)"), with the name as the KB gives it."""
        if self._developers is None:
            self._developers = {normalise(m.developer).split("(")[0]: m.developer
                                for m in self.models.values() if m.developer}
        return self._developers

    @property
    def family_ids(self) -> frozenset[str]:
        """Models that stand for a family with several members (Qwen3.5, whose flagship is Qwen3.5-397B-A17B)."""
        if self._family_ids is None:
            ids = set()
            for member in self.models.values():
                family = self.model(member.family) if member.family else None
                if family is not None and family.id != member.id:
                    ids.add(family.id)
            self._family_ids = frozenset(ids)
        return self._family_ids

    @property
    def family_names(self) -> frozenset[str]:
        """Every family name, normalised ("llama4", "gptoss")."""
        if self._family_names is None:
            self._family_names = frozenset(normalise(m.family) for m in self.models.values() if m.family)
        return self._family_names

    @property
    def name_index(self) -> dict[str, str]:
        """Every normalised name and alias, with the model it means (read-only by convention: no copy)."""
        return self._names

    def _add_model(self, model: Model) -> None:
        self.models[model.id] = model
        self._developers = self._family_ids = self._family_names = None
        for name in (model.id, model.name, *model.aliases):
            self._names.setdefault(normalise(name), model.id)

    def _add_benchmark(self, bench: Benchmark) -> None:
        self.benchmarks[bench.id] = bench
        for name in (bench.id, bench.name, *bench.aliases):
            self._bench_names.setdefault(normalise(name), bench.id)


_POSSESSIVE = re.compile(r"['’]s\b")
_SEPARATORS = re.compile(r"[\s_\-'’]+")


def normalise(name: str) -> str:
    """Case, spaces, hyphens and underscores do not tell model names apart; dots do (Qwen3.5 is not Qwen35)."""
    return _SEPARATORS.sub("", _POSSESSIVE.sub("", name.strip().lower()))


_MODEL_KEYS = {"id": str, "name": str, "developer": str, "aliases": list, "family": str, "openness": str,
               "licence": str, "params_total_b": float, "params_active_b": float, "architecture": str,
               "context_tokens": int, "released": str, "confidence": str, "sources": list, "notes": str,
               "benchmarks": list, "announced": str, "vendor_comparators": list}
_SCORE_KEYS = {"benchmark": str, "score": float, "setting": str, "reported_by": str, "source": str,
               "approximate": bool}
_BENCH_KEYS = {"id": str, "name": str, "aliases": list, "measures": str, "notes": str}
_TYPES = {str: "a string", int: "an integer", float: "a number", list: "a list", bool: "true or false"}


def builtin_files() -> list[Path]:
    folder = Path(str(resources.files("tidings").joinpath("data/kb")))
    return sorted(folder.glob("*.toml"))


def load_kb(user_files: Iterable[str | Path] = ()) -> KnowledgeBase:
    """The built-in KB plus the user's files. A broken built-in file is a bug and raises; a broken user file
    is recorded in `errors` and skipped."""
    kb = KnowledgeBase()
    for path in builtin_files():
        _load_file(kb, path)
    for path in user_files:
        try:
            _load_file(kb, Path(path))
        except KBError as exc:
            kb.errors.append(str(exc))
    return kb


def _load_file(kb: KnowledgeBase, path: Path) -> None:
    text, data = read_toml(path, KBError, "no such KB file")
    unknown = set(data) - {"models", "benchmarks"}
    if unknown:
        key = sorted(unknown)[0]
        raise KBError(f"{path}:{_line_of(text, key)}: unknown table '{key}' (allowed: models, benchmarks)")
    models, benches = [], []
    for n, table in enumerate(data.get("benchmarks", [])):
        values = _checked(path, text, f"benchmarks[{n}]", table, _BENCH_KEYS, required=("id", "name"))
        benches.append(Benchmark(**{**values, "aliases": tuple(values.get("aliases", ()))}))
    for n, table in enumerate(data.get("models", [])):
        values = _checked(path, text, f"models[{n}]", table, _MODEL_KEYS, required=("id", "name"))
        where = f"{path}:{_line_of(text, values['id'])}"
        if values.get("openness", "") not in ("", *OPENNESS):
            raise KBError(f"{where}: openness must be one of {', '.join(OPENNESS)}, got {values['openness']!r}")
        if values.get("released") and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", values["released"]):
            raise KBError(f"{where}: released must be YYYY, YYYY-MM or YYYY-MM-DD, got {values['released']!r}")
        scores = tuple(Score(**_checked(path, text, f"models[{n}].benchmarks[{j}]", s, _SCORE_KEYS,
                                        required=("benchmark", "score")))
                       for j, s in enumerate(values.pop("benchmarks", [])))
        models.append(Model(**{**values, "aliases": tuple(values.get("aliases", ())),
                               "sources": tuple(values.get("sources", ())), "benchmarks": scores,
                               "vendor_comparators": tuple(values.get("vendor_comparators", ())),
                               "origin": str(path)}))
    # Only a file that is wholly right is added: a half-loaded file would be worse than none.
    for bench in benches:
        kb._add_benchmark(bench)
    for model in models:
        kb._add_model(model)
    kb._texts.append(text)


def _checked(path: Path, text: str, where: str, table, allowed: dict, required: tuple[str, ...]) -> dict:
    if not isinstance(table, dict):
        raise KBError(f"{path}: {where} must be a table")
    anchor = str(table.get("id") or table.get("benchmark") or "")
    line = _line_of(text, anchor) if anchor else "?"
    for key in required:
        if key not in table:
            raise KBError(f"{path}:{line}: {where} needs '{key}'")
    out = {}
    for key, value in table.items():
        if key not in allowed:
            raise KBError(f"{path}:{_line_of(text, key, after=anchor)}: unknown key '{key}' in {where} "
                          f"(allowed: {', '.join(allowed)})")
        expected = allowed[key]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise KBError(f"{path}:{_line_of(text, key, after=anchor)}: {key} in {where} must be "
                          f"{_TYPES[expected]}, got {value!r}")
        out[key] = value
    return out


def _line_of(text: str, needle: str, after: str = "") -> int | str:
    """The line where `needle` first appears (after the line of `after`), for error messages."""
    lines = text.splitlines()
    start = 0
    if after:
        start = next((n for n, line in enumerate(lines) if after in line), 0)
    for n in range(start, len(lines)):
        if needle in lines[n]:
            return n + 1
    return "?"
