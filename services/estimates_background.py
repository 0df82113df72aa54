"""The causal estimates computed outside the page run, in a process of their own.

A page run never computes the estimates (issue 14: no filter change may wait for them). When
the frame finds none stored for the current data version it calls ``start(scope, url,
account_id, version)``, which starts ``python -m services.estimates_background`` — the
estimates workflow, ``services.estimates.ensure_estimates`` — and returns at once; the
pages show what does not need the estimates and pick the stored ones up on a later run.

Why a process, not a thread of the server: the estimator is mostly Python and pandas, so a
thread would hold the interpreter lock against every page run of every session for the
minutes a large account takes; a process runs beside the server, at a lower CPU priority
(``nice`` 10), so the pages stay responsive while it works.

At most one process per (database, account, data version) from this server; across servers
and the CLI, ``ensure_estimates``' claim lets only one of them compute (the others wait for
its stored run and exit). A process that failed is not started again for the same version
(``failure`` says why, from the end of its output), so a broken estimator cannot start a
process on every page run.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from data_loaders.access import Scope

ROOT = Path(__file__).resolve().parent.parent
#: The database URL reaches the process through its environment, never its command line
#: (which every user of the machine can read).
URL_ENV = "TNN_ESTIMATES_URL"

Key = tuple[str, int, str]  # database URL, account id, data version


@dataclass
class _Run:
    proc: subprocess.Popen[bytes]
    log: Path


_lock = threading.Lock()
_runs: dict[Key, _Run] = {}
_failed: dict[Key, str] = {}


def _scope_arg(scope: Scope) -> str:
    return json.dumps(
        {
            "role": scope.role,
            "account_ids": None if scope.account_ids is None else sorted(scope.account_ids),
            "user": scope.user,
            "name": scope.name,
        }
    )


def _scope_of(arg: str) -> Scope:
    d = json.loads(arg)
    ids = d["account_ids"]
    return Scope(
        role=d["role"],
        account_ids=None if ids is None else frozenset(int(i) for i in ids),
        user=d["user"],
        name=d["name"],
    )


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " ".join(text[-lines:])


def _reap() -> None:
    """Forget finished processes (so none stays a zombie); remember the failed ones."""
    for key, run in list(_runs.items()):
        code = run.proc.poll()
        if code is None:
            continue
        del _runs[key]
        if code != 0:
            _failed[key] = _tail(run.log) or f"exit status {code}"
        run.log.unlink(missing_ok=True)


def start(scope: Scope, url: str, account_id: int, version: str) -> bool:
    """Start computing the estimates of the account's current data in the background, unless
    this server already has a process on it or one failed for this data version. True when
    a process was started by this call. Returns at once."""
    scope.check(account_id)
    key = (url, account_id, version)
    with _lock:
        _reap()
        if key in _runs or key in _failed:
            return False
        fd, name = tempfile.mkstemp(prefix="tnn-estimates-", suffix=".log")
        log = Path(name)
        with os.fdopen(fd, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "services.estimates_background", _scope_arg(scope)]
                + [str(account_id)],
                cwd=ROOT,
                env={**os.environ, URL_ENV: url},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _runs[key] = _Run(proc, log)
        return True


def running(url: str, account_id: int, version: str) -> bool:
    """True while this server's process for (database, account, data version) runs."""
    with _lock:
        _reap()
        return (url, account_id, version) in _runs


def failure(url: str, account_id: int, version: str) -> str | None:
    """Why this server's process for (database, account, data version) failed, or None."""
    with _lock:
        _reap()
        return _failed.get((url, account_id, version))


def wait(timeout: float | None = None) -> None:
    """Wait for every process this server started (tests and shutdown; never a page run)."""
    with _lock:
        procs = [r.proc for r in _runs.values()]
    for p in procs:
        p.wait(timeout)
    with _lock:
        _reap()


def stop_all() -> None:
    """Stop every process this server started and forget them (tests; never a page run)."""
    with _lock:
        for run in _runs.values():
            if run.proc.poll() is None:
                run.proc.terminate()
            run.proc.wait()
            run.log.unlink(missing_ok=True)
        _runs.clear()
        _failed.clear()


def main(argv: list[str] | None = None) -> int:
    """The process: ``python -m services.estimates_background SCOPE_JSON ACCOUNT_ID``, the
    database URL in ``TNN_ESTIMATES_URL``."""
    from data_loaders.db import make_engine
    from services.estimates import ensure_estimates

    args = sys.argv[1:] if argv is None else argv
    scope, account_id = _scope_of(args[0]), int(args[1])
    with contextlib.suppress(OSError):  # the pages' runs first: nobody waits on this work
        os.nice(10)
    engine = make_engine(os.environ[URL_ENV])
    try:
        done = ensure_estimates(engine, scope, account_id, progress=print)
    finally:
        engine.dispose()
    how = f"computed in {done.seconds:.1f} s" if done.computed else "already stored"
    print(f"{done.account}: estimates {how} (data version {done.version[:12]})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
