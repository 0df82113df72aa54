"""The command line, run as a subprocess: exit codes, messages, and never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .loader_helpers import ACCOUNT, VALID, valid_files

ROOT = Path(__file__).resolve().parents[2]
# Generous: a guard against a hung process, never a speed check (CI machines are busy).
TIMEOUT = 1800


def run(
    *args: str,
    db: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    full_env.pop("DATABASE_URL", None)
    cmd = [sys.executable, str(ROOT / "cli.py")] + (["--db", db] if db else []) + list(args)
    proc = subprocess.run(
        cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def db(tmp_path: Path) -> str:
    """An existing (empty) SQLite file: only init, demo and migrate create a new one."""
    (tmp_path / "cli.sqlite").touch()
    return f"sqlite:///{tmp_path / 'cli.sqlite'}"


def test_a_mistyped_database_path_is_not_created(tmp_path: Path) -> None:
    """`import` / `batches` with --db naming no file say "no database at …" and create
    nothing; `migrate` creates it."""
    url = f"sqlite:///{tmp_path / 'typo.sqlite'}"
    for args in (["batches"], ["import", *map(str, valid_files())]):
        p = run(*args, db=url)
        assert p.returncode == 1
        assert f"no database at {tmp_path / 'typo.sqlite'}" in p.stderr
        assert not (tmp_path / "typo.sqlite").exists()
    assert run("migrate", db=url).returncode == 0
    assert (tmp_path / "typo.sqlite").exists()


def test_a_reading_command_on_an_older_schema_says_to_migrate(db: str) -> None:
    """`batches` (which never migrates) on a database one revision behind says to run
    `migrate`, instead of failing on the table the older schema lacks; after `migrate` it
    works."""
    from alembic import command
    from data_loaders.db import alembic_config, make_engine

    assert run("migrate", db=db).returncode == 0
    engine = make_engine(db)
    cfg = alembic_config(db)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    engine.dispose()
    p = run("batches", db=db)
    assert p.returncode == 1
    assert "has an older schema than this version: run `thenandnow migrate` first" in p.stderr
    assert run("migrate", db=db).returncode == 0
    assert run("batches", db=db).returncode == 0


def test_import_batches_rollback_cycle(db: str, tmp_path: Path) -> None:
    """import → batches → rollback → rollback again (refused) with the right exit codes."""
    p = run("import", *map(str, valid_files()), "--user", "ana", db=db)
    assert p.returncode == 0, p.stderr
    assert "Imported as batch 1" in p.stdout and "observations: 81 read, 81 new" in p.stdout
    p = run("batches", "--account", ACCOUNT, db=db)
    assert p.returncode == 0 and "applied" in p.stdout and "ana" in p.stdout
    p = run("rollback", "1", db=db)
    assert p.returncode == 0 and "rolled back batch 1: 100 rows deleted" in p.stdout
    p = run("rollback", "1", db=db)
    assert p.returncode == 1
    assert p.stderr.startswith("error: batch 1 was already rolled back on ")
    p = run("rollback", "99", db=db)
    assert p.returncode == 1 and "error: there is no import batch 99" in p.stderr


def test_dry_run_and_rejection(db: str, tmp_path: Path) -> None:
    """--dry-run reports counts; a rejected import prints file · row · column lines, exit 1."""
    p = run("import", str(VALID), "--dry-run", db=db)  # a folder: its CSV files
    assert p.returncode == 0 and "Dry run" in p.stdout
    bad = tmp_path / "rollouts.csv"
    bad.write_text(
        "account,innovation,site,process,go_live\nAcme Claims,INN-001,Lisbon,Claims intake,someday\n"
    )
    p = run("import", *map(str, valid_files()), str(tmp_path / "rollouts.csv"), db=db)
    assert p.returncode == 1
    assert "rollouts.csv · row 2 · column go_live · 'someday' is not a date" in p.stdout
    assert "nothing was written" in p.stderr
    p = run("batches", db=db)
    assert p.returncode == 0 and "(none)" in p.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--db", "foo://nowhere", "batches"], "error: invalid database URL foo://nowhere"),
        (["--db", "not a url", "batches"], "error: invalid database URL"),
        (
            ["--db", "postgresql+psycopg://u:secret@127.0.0.1:1/x", "migrate"],
            "error: the database at postgresql+psycopg://u:***@127.0.0.1:1/x cannot be used",
        ),
        (["import", "/no/such/file.csv"], "error: file not found: /no/such/file.csv"),
        (["import-sql", "--mapping", "/no/mapping.toml"], "error: mapping file not found"),
    ],
)
def test_failures_are_one_readable_line(args: list[str], fragment: str, db: str) -> None:
    """Bad URL, unreachable database, missing file: exit ≠ 0 and one line, no traceback."""
    if "--db" not in args:
        args = ["--db", db, *args]
    p = run(*args)
    assert p.returncode != 0
    assert fragment in p.stderr
    assert "secret" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_batches_on_an_uninitialised_database(db: str) -> None:
    """Reading commands on an empty database say to run init first."""
    p = run("batches", db=db)
    assert p.returncode == 1 and "run `thenandnow init`" in p.stderr


def test_templates_then_import_them(db: str, tmp_path: Path) -> None:
    """`templates DIR` writes files that `import` accepts as they are."""
    out = tmp_path / "tpl"
    p = run("templates", str(out), db=db)
    assert p.returncode == 0 and (out / "then_and_now_template.xlsx").exists()
    p = run("import", str(out / "then_and_now_template.xlsx"), db=db)
    assert p.returncode == 0, p.stdout + p.stderr


def test_import_sql_with_a_mapping_file(db: str, tmp_path: Path) -> None:
    """import-sql reads a TOML mapping; the source URL may come from --source."""
    import sqlite3

    import pandas as pd

    src = tmp_path / "src.sqlite"
    con = sqlite3.connect(src)
    for csv in valid_files():
        pd.read_csv(csv, dtype=str, keep_default_na=False).to_sql(csv.stem, con, index=False)
    con.close()
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        "[entities]\n"
        + "".join(
            f'{stem} = "{stem}"\n'
            for stem in ("accounts", "units", "kpis", "innovations", "rollouts", "events")
        )
        + 'observations = "kpi_observations_2024"\n'
    )
    p = run("import-sql", "--source", f"sqlite:///{src}", "--mapping", str(mapping), db=db)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "observations: 81 read, 81 new" in p.stdout


def test_init_loads_the_demo_once(db: str) -> None:
    """init migrates and loads the demo into an empty database; a second init keeps data.
    (Storing the estimates is `estimate`'s test; `make run` computes them after the server
    is up.)"""
    p = run("init", "--no-estimates", db=db)
    assert p.returncode == 0, p.stderr
    assert "with the demo account" in p.stdout
    assert "stored the causal estimates" not in p.stdout
    p = run("init", "--no-estimates", db=db)
    assert p.returncode == 0 and "up to date" in p.stdout
    p = run("demo", "--scale", "0", db=db)
    assert p.returncode == 1 and "error: --scale must be 1 or more" in p.stderr


def test_help_lists_every_command() -> None:
    """--help lists the commands; an unknown one is a short usage error (exit 2)."""
    p = run("--help")
    for name in (
        "init",
        "migrate",
        "demo",
        "import",
        "import-sql",
        "batches",
        "rollback",
        "templates",
    ):
        assert name in p.stdout
    p = run("frobnicate")
    assert p.returncode == 2 and "error: No such command 'frobnicate'" in p.stderr
    p = run("estimate")
    assert p.returncode == 2 and "error: give exactly one of --account NAME or --all" in p.stderr


def test_db_before_or_after_the_command(db: str) -> None:
    """`--db URL` is accepted before or after the command name, with the same effect."""
    p = run("init", "--no-estimates", "--db", db)
    assert p.returncode == 0 and "with the demo account" in p.stdout, p.stderr
    p = run("--db", db, "batches")
    assert p.returncode == 0 and "applied" in p.stdout
    p = run("batches", "--db", db)
    assert p.returncode == 0 and "applied" in p.stdout


def test_estimate_stores_once_per_data_version(db: str) -> None:
    """`estimate` computes and stores the estimates; again: already stored; after an import
    that changes the data they are refreshed; unknown accounts are refused (exit 1)."""
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from data_loaders.estimate_store import load_estimates, stored_runs
    from data_loaders.queries import account_id_by_name, load_account_data
    from metrics.versions import estimates_version

    p = run("import", *map(str, valid_files()), "--no-estimates", db=db)
    assert p.returncode == 0 and "stored the causal estimates" not in p.stdout, p.stderr
    p = run("estimate", "--account", ACCOUNT.upper(), db=db)
    assert p.returncode == 0, p.stderr
    assert f"{ACCOUNT}: stored the causal estimates of " in p.stdout
    assert "[100%]" in p.stderr and "innovations" in p.stderr
    engine = make_engine(db)
    account_id = account_id_by_name(engine, Scope.everything(), ACCOUNT)
    data = load_account_data(engine, Scope.everything(), account_id)
    stored = load_estimates(engine, account_id, estimates_version(data))
    assert stored is not None and set(stored.columns) >= {"kpi_key", "estimated", "ci_low"}
    p = run("estimate", "--account", ACCOUNT, db=db)
    assert p.returncode == 0 and "already stored" in p.stdout
    p = run("estimate", "--all", "--force", db=db)
    assert p.returncode == 0 and "stored the causal estimates" in p.stdout
    assert len(stored_runs(engine, account_id)) == 1  # the same version, replaced
    p = run("estimate", "--account", "Nobody", db=db)
    assert p.returncode == 1 and p.stderr.startswith("error: No account named 'Nobody'")
    # an import that changes one observation gives a new version, stored by the import
    obs = next(f for f in valid_files() if "observ" in f.name)
    text = obs.read_text().splitlines()
    head, first = text[0].split(","), text[1].split(",")
    col = head.index("value")
    first[col] = str(float(first[col]) * 1.01)
    changed = Path(db.removeprefix("sqlite:///")).parent / obs.name
    changed.write_text("\n".join([text[0], ",".join(first), *text[2:]]) + "\n")
    p = run("import", str(changed), db=db)
    assert p.returncode == 0 and f"{ACCOUNT}: stored the causal estimates" in p.stdout, p.stderr
    assert len(stored_runs(engine, account_id)) == 2
    engine.dispose()


def test_import_shows_progress_by_default_on_a_terminal(db: str) -> None:
    """With stderr a terminal and no --progress flag, `import` prints its phases ("[100%] …");
    piped (the other tests), it prints none."""
    import pty

    leader, follower = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    cmd = [sys.executable, str(ROOT / "cli.py"), "--db", db, "import", "--no-estimates"]
    proc = subprocess.run(
        cmd + [str(f) for f in valid_files()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
        timeout=TIMEOUT,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: everything was read
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.returncode == 0, seen
    err = seen.decode()
    assert "[100%]" in err and "Traceback" not in err
    piped = run("import", "--no-estimates", *map(str, valid_files()), db=db)
    assert "[100%]" not in piped.stderr
