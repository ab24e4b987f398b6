"""Running the web app: uvicorn on the chosen address, and with `--run-every` the pipeline beside it."""

from __future__ import annotations

import errno
import logging
import socket
import threading

from tidings.config import Config
from tidings.errors import TidingsError
from tidings.pipeline import existing_store, run_every

log = logging.getLogger(__name__)


class ServeError(TidingsError):
    """The server cannot start (the address is taken or cannot be used)."""


def serve(config: Config, host: str = "127.0.0.1", port: int = 8080, every: float | None = None,
          quiet: bool = False) -> None:
    """Serve until interrupted. The address is tried first, so a port in use is one line, not a traceback."""
    import uvicorn

    from tidings.web.app import create_app

    _check_address(host, port)
    if not every:
        existing_store(config)  # a server that only reads would otherwise serve an empty store it made
    app = create_app(config, warm=True)
    stop = threading.Event()
    runner = None
    if every:
        # The pipeline is the store's one writer; the server only reads, and sees each run when it commits.
        runner = threading.Thread(target=run_every, args=(config, every, stop), kwargs={"wait": True},
                                  name="tidings-runs", daemon=True)
        runner.start()
    if not quiet:
        # The store as messages name it: a file path, or a URL without its password.
        print(f"tidings: serving {app.state.site.store.shown} at http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning" if quiet else "info", access_log=not quiet)
    finally:
        stop.set()
        if runner is not None:
            runner.join(timeout=30)
        app.state.site.store.close()


def _check_address(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ServeError(f"{host}: not an address this machine can listen on ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            why = "already in use; choose another with --port" if exc.errno == errno.EADDRINUSE else \
                f"{exc.strerror} (use an address of this machine with --host, such as 127.0.0.1 or 0.0.0.0)"
            raise ServeError(f"{host}:{port}: {why}") from None
