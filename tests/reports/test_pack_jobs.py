"""``build_packs`` in worker processes writes exactly what one process writes: the same files
byte for byte (same SHA-256 set) and the same archived editions (numbers, checksums, printed
figures), whether the workers are forked from the caller or come from the fork server."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILT_AT = "2026-07-02 09:15 UTC"

#: Runs in a fresh interpreter, so that no vl-convert or Typst runtime has started and the
#: workers are forked from it (asserted); prints what ``_outcome`` reads.
_RUN = """
import hashlib, json, sys
from pathlib import Path
from data_loaders.access import Scope
from reports.pack import runtimes_started
from services.pack import PackJob, build_packs
url, out, jobs, built_at = sys.argv[1:]
assert not runtimes_started()
names = ["Northwind Insurance", "Rheinland Energie"]
todo = [PackJob(url=url, scope=Scope.everything(), account=n, out_dir=out, built_at=built_at)
        for n in names]
print(json.dumps([[r.account, r.error, Path(r.target).name, r.sha256, r.edition_no]
                  for r in build_packs(todo, jobs=int(jobs))]))
"""


def _copy(demo_url: str, target: Path) -> str:
    with (
        sqlite3.connect(demo_url.removeprefix("sqlite:///")) as src,
        sqlite3.connect(target) as dst,
    ):
        src.backup(dst)
    return f"sqlite:///{target}"


def _editions(url: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        rows = db.execute(
            "SELECT account_id, edition_no, as_of, sha256, content_sha256, data_version, "
            "figures FROM snapshot ORDER BY account_id, edition_no"
        ).fetchall()
    return [(*r[:-1], json.loads(r[-1]) if isinstance(r[-1], str) else r[-1]) for r in rows]


def _outcome(url: str, out: Path, results: list[list[Any]]) -> tuple[Any, ...]:
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    return results, files, _editions(url)


def _in_process(url: str, out: Path, jobs: int) -> list[list[Any]]:
    from data_loaders.access import Scope
    from services.pack import PackJob, build_packs

    todo = [
        PackJob(url=url, scope=Scope.everything(), account=n, out_dir=str(out), built_at=BUILT_AT)
        for n in ("Northwind Insurance", "Rheinland Energie")
    ]
    return [
        [r.account, r.error, Path(r.target).name, r.sha256, r.edition_no]
        for r in build_packs(todo, jobs=jobs)
    ]


def test_two_forked_workers_write_the_files_and_editions_of_one_process(
    demo_url: str, demo_story_bundle: object, tmp_path: Path
) -> None:
    """Forked workers (a fresh process that started no runtime) against one process."""
    runs = []
    for jobs in (1, 2):
        url = _copy(demo_url, tmp_path / f"db{jobs}.sqlite")
        out = tmp_path / f"out{jobs}"
        proc = subprocess.run(
            [sys.executable, "-c", _RUN, url, str(out), str(jobs), BUILT_AT],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(_outcome(url, out, json.loads(proc.stdout.splitlines()[-1])))
    one, two = runs
    assert [r[1] for r in one[0]] == ["", ""]  # no errors
    assert len(one[1]) == 2 and len(set(one[1].values())) == 2
    assert one == two  # results in order, file SHA-256s, editions with their figures


def test_fork_server_workers_write_the_files_and_editions_of_one_process(
    demo_url: str, demo_story_bundle: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When this process has started vl-convert or Typst the workers come from the fork
    server instead; their files and editions are still those of one process."""
    import reports.pack

    monkeypatch.setattr(reports.pack, "runtimes_started", lambda: True)
    runs = []
    for jobs in (1, 2):
        url = _copy(demo_url, tmp_path / f"db{jobs}.sqlite")
        out = tmp_path / f"out{jobs}"
        runs.append(_outcome(url, out, _in_process(url, out, jobs)))
    assert [r[1] for r in runs[0][0]] == ["", ""]
    assert runs[0] == runs[1]


@pytest.mark.parametrize(
    ("accounts", "cpus", "workers"),
    [(10, 2, 2), (10, 8, 2), (2, 2, 2), (1, 2, 1), (10, 1, 1), (10, None, 1), (0, 2, 1)],
)
def test_default_jobs_is_two_when_two_cores_and_two_accounts_exist(
    accounts: int, cpus: int | None, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``default_jobs``: min(2, cores, accounts), at least 1; an unknown core count
    (``os.cpu_count()`` is None) counts as one."""
    from services.pack import default_jobs

    monkeypatch.setattr("os.cpu_count", lambda: cpus)
    assert default_jobs(accounts) == workers
