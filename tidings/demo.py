"""The bundled demo: four days of invented coverage, ingested day by day so later days revise earlier stories."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, time
from importlib import resources
from pathlib import Path

from tidings.config import load_config
from tidings.errors import TidingsError
from tidings.ingest.fetch import is_local, local_path
from tidings.pipeline import Reporter, RunStats, run
from tidings.store import Store

# Two of the demo's sources fail on purpose, to show how a failing source is reported while the run goes on.
BROKEN_ON_PURPOSE = {
    "feeds/wattnotes.xml": "its feed is malformed XML from 14 March",
    "feeds/northlineenergy.rss": "it serves an HTML error page instead of its feed",
}


@dataclass(frozen=True)
class DemoStats:
    directory: Path
    days: tuple[tuple[str, RunStats], ...]
    counts: dict[str, int]
    site: Path
    broken_on_purpose: tuple[tuple[str, str, str], ...] = ()  # (source, why it is broken, the error reported)

    def unexpected_errors(self, day: RunStats) -> list[str]:
        """A day's errors other than those of the sources broken on purpose."""
        expected = {name for name, _, _ in self.broken_on_purpose}
        return [e for e in day.errors if not any(e.startswith(f"source {n!r}") for n in expected)]


class _Expected(logging.Filter):
    """Keeps the deliberate failures out of the log: the demo reports them itself, saying they are intended."""

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.prefixes = tuple(f"source {n!r}" for n in names)

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


def corpus_dir() -> Path:
    return Path(str(resources.files("tidings").joinpath("data/demo")))


def demo_days() -> list[Path]:
    return sorted(p for p in (corpus_dir() / "days").iterdir() if p.is_dir())


class DemoFolderError(TidingsError):
    """A folder the demo would overwrite that holds something else."""


# What the demo writes into its folder, and so replaces there.
DEMO_FILES = ("tidings.toml", "tidings.db", "feeds", "site")


def _check_folder(root: Path, demo_config: str) -> None:
    """The demo replaces the config, database, feeds and site of its folder: only in a folder it made itself
    (its config is the demo's), or in one that holds none of them."""
    if not root.exists():
        return
    if not root.is_dir():
        raise DemoFolderError(f"{root}: not a folder; choose another with --dir")
    config = root / "tidings.toml"
    try:
        # The demo's config of any version opens with the same comment line.
        ours = config.is_file() and config.read_text(encoding="utf-8").startswith(demo_config.splitlines()[0])
    except (OSError, UnicodeDecodeError):
        ours = False
    if ours:
        return
    present = [name for name in DEMO_FILES if (root / name).exists()]
    if present:
        raise DemoFolderError(f"{root}: holds {', '.join(present)} of another project, which the demo would "
                              "replace; choose an empty or new folder with --dir")


def run_demo(directory: str | Path, reporter: Reporter | None = None, extra_config: str = "") -> DemoStats:
    """Set up `directory` with the demo config and feed it the corpus one day at a time.

    Each day's snapshot of every source is copied into `directory/feeds/` (where the config's sources point),
    then the pipeline runs as of the end of that day. The site is published after the last day. `extra_config`
    is TOML added to the demo's config (say, a `[writer]` table).
    """
    root = Path(directory).resolve()
    config_path = root / "tidings.toml"
    demo_config = (corpus_dir() / "tidings.toml").read_text(encoding="utf-8")
    _check_folder(root, demo_config)
    root.mkdir(parents=True, exist_ok=True)
    config_path.write_text(demo_config, encoding="utf-8")
    if extra_config:
        with config_path.open("a", encoding="utf-8") as f:
            f.write("\n" + extra_config)
    for stale in ("tidings.db", "tidings.db-wal", "tidings.db-shm"):
        (root / stale).unlink(missing_ok=True)
    shutil.rmtree(root / "feeds", ignore_errors=True)
    config = load_config(config_path)
    broken = {config.resolve(url): why for url, why in BROKEN_ON_PURPOSE.items()}
    names = {s.url: s.name for s in config.sources}
    quiet = _Expected({names[url] for url in broken})
    logging.getLogger("tidings").addFilter(quiet)
    store = Store(config.db_url)
    days = []
    try:
        all_days = demo_days()
        for n, day in enumerate(all_days):
            shutil.copytree(day, root / "feeds", dirs_exist_ok=True)
            now = datetime.combine(datetime.fromisoformat(day.name).date(), time(23, 0), UTC)
            # A publisher that has not published yet has no file yet: it is not an error, so it is not read.
            present = [s.url for s in config.sources if not is_local(s.url) or local_path(s.url).exists()]
            stats = run(config, store, now=now, sources=present, publish=n == len(all_days) - 1,
                        reporter=reporter)
            days.append((day.name, stats))
        counts = store.counts()
        reported = tuple((s.name, broken[s.url], s.last_error or "") for s in store.sources() if s.url in broken)
    finally:
        store.close()
        logging.getLogger("tidings").removeFilter(quiet)
    return DemoStats(directory=root, days=tuple(days), counts=counts, site=root / config.site_dir,
                     broken_on_purpose=reported)
