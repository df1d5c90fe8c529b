"""Running Billfold: the ASGI app, the background workers, and uvicorn.

``billfold serve`` runs everything in one process. ``billfold serve --workers N`` (N > 1, on
PostgreSQL) runs a small supervisor instead of uvicorn's own multi-worker mode, because it must
do a few things uvicorn's cannot: apply migrations once before any child starts, run the webhook
and job worker in one process only (not in every API process), publish every child's pid (for
operators and the crash tests, which kill one API process with ``kill -9``), and make sure no
child outlives the supervisor. The supervisor binds the listening socket once and hands the same
file descriptor to each API child, so the kernel spreads connections over them; it restarts a
child that dies, and SIGTERM or SIGINT stops them all.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from billfold.app import Billfold
from billfold.config import Settings
from billfold.web.pages import build
from billfold.wire.asgi import AsgiApp

log = logging.getLogger("billfold")

_SETTINGS_ENV = "BILLFOLD_CHILD_SETTINGS"
_PARENT_ENV = "BILLFOLD_SUPERVISOR_PID"
_FD_ENV = "BILLFOLD_LISTEN_FD"
# A child that dies sooner than this after starting counts as failing to start.
_QUICK_DEATH = 5.0
_MAX_QUICK_DEATHS = 5
_STOP_GRACE = 20.0
_PR_SET_PDEATHSIG = 1


def asgi_app(app: Billfold) -> AsgiApp:
    return AsgiApp(app, build(app))


def serve(settings: Settings, workers: int = 1, pid_file: str | None = None) -> int:
    """``billfold serve``: one process, or a supervisor of ``workers`` API processes."""
    if workers > 1:
        return Supervisor(settings, workers, pid_file).run()
    app = Billfold(settings)
    app.start()
    app.db.start_checkpoints()
    print_keys(app)
    if pid_file:
        _write_pid_file(pid_file, {"supervisor": None, "api": [os.getpid()],
                                   "worker": os.getpid() if settings.run_worker else None})
    running = []
    if settings.run_worker:
        from billfold.workers.runner import start_workers

        running = start_workers(app)
    try:
        uvicorn.run(
            asgi_app(app),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
        )
    finally:
        for worker in running:
            worker.stop()
        if pid_file:
            Path(pid_file).unlink(missing_ok=True)
    return 0


def print_keys(app: Billfold) -> None:
    if app.created_platform:
        print(f"Created platform account {app.platform_account}.")
    print(f"Billfold on {app.settings.public_url} ({app.db.dialect}); account {app.platform_account}")
    for key in app.platform_keys:
        mode = "live" if key.livemode else "test"
        print(f"  {key.kind:<12} {mode:<4} {key.secret}")
    print(flush=True)


# The supervisor


@dataclass
class _Child:
    role: str  # "api" or "worker"
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    quick_deaths: int = 0
    restart_at: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


class Supervisor:
    """N API processes on one socket, plus one worker process, restarted when they die."""

    def __init__(self, settings: Settings, workers: int, pid_file: str | None = None) -> None:
        self.settings = settings
        self.workers = workers
        self.pid_file = pid_file
        self.children = [_Child("api") for _ in range(workers)]
        if settings.run_worker:
            self.children.append(_Child("worker"))
        self._stop = threading.Event()
        self._sock: socket.socket | None = None

    def run(self) -> int:
        app = Billfold(self.settings)
        if not app.db.is_postgres:
            app.db.dispose()
            print(
                "billfold: --workers needs PostgreSQL. SQLite allows one writer at a time, so "
                "several API processes would only queue on its lock; run one process on SQLite, "
                "or point --database (or BILLFOLD_DATABASE_URL) at PostgreSQL.",
                file=sys.stderr,
            )
            return 2
        app.start()  # migrations and the platform account, once, before any child exists
        print_keys(app)
        app.db.dispose()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        self._sock = _listen(self.settings.host, self.settings.port)
        # One directory of counters for all children, so /metrics from any of them sums them all.
        from billfold.observability import metrics

        made_metrics_dir = not os.environ.get(metrics.MULTIPROC_ENV)
        metrics_dir = metrics.prepare_multiprocess()
        try:
            for child in self.children:
                self._spawn(child)
            worker_note = "" if self.settings.run_worker else " (no worker: run `billfold worker`)"
            log.info("supervising %d API processes%s", self.workers, worker_note)
            code = self._watch()
        finally:
            self._stop_all()
            self._sock.close()
            if self.pid_file:
                Path(self.pid_file).unlink(missing_ok=True)
            if made_metrics_dir:
                shutil.rmtree(metrics_dir, ignore_errors=True)
        return code

    def _watch(self) -> int:
        while not self._stop.wait(0.2):
            for child in self.children:
                process = child.process
                if process is not None and process.poll() is None:
                    continue
                if process is not None:
                    self._died(child, process.returncode)
                    if child.quick_deaths >= _MAX_QUICK_DEATHS:
                        log.error("%s process keeps dying at start; stopping", child.role)
                        return 1
                if time.monotonic() >= child.restart_at and not self._stop.is_set():
                    self._spawn(child)
        return 0

    def _died(self, child: _Child, code: int | None) -> None:
        lived = time.monotonic() - child.started
        log.warning("%s process %s exited (%s) after %.1fs; restarting", child.role, child.pid, code, lived)
        child.process = None
        child.quick_deaths = child.quick_deaths + 1 if lived < _QUICK_DEATH else 0
        child.restart_at = time.monotonic() + (0.5 * 2 ** child.quick_deaths if child.quick_deaths else 0)

    def _spawn(self, child: _Child) -> None:
        assert self._sock is not None
        fd = self._sock.fileno()
        env = {
            **os.environ,
            _SETTINGS_ENV: json.dumps(dataclasses.asdict(self.settings)),
            _PARENT_ENV: str(os.getpid()),
            _FD_ENV: str(fd),
        }
        child.process = subprocess.Popen(
            [sys.executable, "-m", "billfold.server", child.role],
            env=env,
            pass_fds=(fd,) if child.role == "api" else (),
        )
        child.started = time.monotonic()
        self._publish()

    def _publish(self) -> None:
        if not self.pid_file:
            return
        workers = [c.pid for c in self.children if c.role == "worker"]
        _write_pid_file(self.pid_file, {
            "supervisor": os.getpid(),
            "api": [c.pid for c in self.children if c.role == "api"],
            "worker": workers[0] if workers else None,
        })

    def _stop_all(self) -> None:
        running = [c.process for c in self.children if c.process is not None]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _write_pid_file(path: str, pids: dict[str, Any]) -> None:
    """Written whole and renamed into place, so a reader never sees half a file."""
    target = Path(path)
    scratch = target.with_name(target.name + ".tmp")
    scratch.write_text(json.dumps(pids))
    scratch.replace(target)


# A child process


def _child_settings() -> Settings:
    raw: dict[str, Any] = json.loads(os.environ[_SETTINGS_ENV])
    defaults = Settings()
    names = {f.name for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {
        name: tuple(value) if isinstance(getattr(defaults, name), tuple) else value
        for name, value in raw.items() if name in names
    }
    return Settings(**values)


def _die_with_parent(parent: int) -> None:
    """A child must not keep serving (or delivering) once its supervisor is gone, even if the
    supervisor was killed with SIGKILL: the kernel kills it (Linux), and a watchdog backs that up."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGKILL)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="billfold-parent-watch", daemon=True).start()


def _child_main(role: str) -> int:
    _die_with_parent(int(os.environ[_PARENT_ENV]))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from billfold.observability import request_log

    request_log.configure(os.environ.get("BILLFOLD_LOG_FORMAT") or "json")
    settings = _child_settings()
    if role == "worker":
        from billfold.workers.runner import run

        return run(settings)
    from billfold.accounts import ensure_platform

    app = Billfold(settings)
    # The supervisor migrated and made the platform; this only reads it back.
    app.platform_account, app.platform_keys, app.created_platform = ensure_platform(
        app.db, app.clock.now(), settings.secret_key, settings.publishable_key
    )
    sock = socket.socket(fileno=int(os.environ[_FD_ENV]))
    config = uvicorn.Config(
        asgi_app(app), log_level="warning", access_log=False, timeout_graceful_shutdown=10
    )
    uvicorn.Server(config).run(sockets=[sock])
    app.db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(_child_main(sys.argv[1]))
