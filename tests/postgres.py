"""A real PostgreSQL server for the tests: a throwaway cluster made with initdb in a temporary folder, listening
on a Unix socket there (and no TCP port), trust authentication, stopped and removed at the end of the session.

The server's binaries are looked up on PATH and in Debian's /usr/lib/postgresql/*/bin (`apt-get install
postgresql`, which CI's .ci/run does). PostgreSQL refuses to run as root: as root, the server runs as the
`postgres` user the Debian package creates."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

_NAMES = itertools.count(1)


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    def version(folder: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in folder.parent.name.split(".") if p.isdigit())

    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True):  # newest first
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


class Server:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        # In /tmp, whatever TMPDIR says: a Unix socket's path must be short, and the postgres user must reach it.
        self.root = Path(tempfile.mkdtemp(prefix="tidings-pg-", dir="/tmp"))
        self.data, self.socket = self.root / "data", self.root
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            self.root.chmod(0o755)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode:
            log = self.root / "log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-1500:]}\n{tail}")

    def start(self) -> Server:
        try:
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.root / "log"), "-o",
                      f"-k {self.socket} -c listen_addresses='' -c fsync=off", "start")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; its URL as tidings takes it."""
        import psycopg

        name = f"t{next(_NAMES)}"
        with psycopg.connect(f"host={self.socket} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@/{name}?host={self.socket}"
