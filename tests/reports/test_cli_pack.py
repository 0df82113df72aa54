"""The pack from the command line, no browser: ``pack --all --out-dir`` (one file per account,
names carrying account and as-of, progress on stderr), ``--format pptx``, ``--password-file``
(AES-256, the password in no output), ``verify`` of the file written, and a failure as a
non-zero exit with one readable line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pptx import Presentation
from pypdf import PdfReader

import cli

ACCOUNT = "Northwind Insurance"


def test_pack_all_writes_one_file_per_account_named_by_account_and_as_of(
    copy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "packs"
    # one process: the names are what this checks (worker processes: the test below)
    rc = cli.main(
        ["--db", copy_url, "pack", "--all", "--jobs", "1", "--as-of", "2026-06"]
        + ["--out-dir", str(out_dir)]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [
        "renewal-pack_Northwind-Insurance_2026-06-30.pdf",
        "renewal-pack_Rheinland-Energie_2026-06-30.pdf",
    ]
    for p in out_dir.iterdir():
        assert p.read_bytes().startswith(b"%PDF")
        assert str(p) in out  # one line per file written
    # progress on stderr, per account and step
    assert f"{ACCOUNT}: building the story" in err and "Rheinland Energie: " in err
    assert "as of 2026-06-30, edition 1" in out


def test_deck_password_and_verify_from_the_command_line(
    copy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "correct-horse-battery"
    pw = tmp_path / "pw.txt"
    pw.write_text(secret + "\n", encoding="utf-8")
    pdf = tmp_path / "pack.pdf"
    args = ["--db", copy_url, "pack", "--account", ACCOUNT, "--password-file", str(pw)]
    assert cli.main([*args, "--out", str(pdf)]) == 0
    printed = "".join(capsys.readouterr())
    assert secret not in printed and "(password-protected)" in printed
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    assert reader.is_encrypted and reader.decrypt(secret)
    assert "Value to date" in (reader.pages[1].extract_text() or "")

    deck = tmp_path / "pack.pptx"
    assert (
        cli.main(
            ["--db", copy_url, "pack", "--account", ACCOUNT, "--format", "pptx", "--out", str(deck)]
        )
        == 0
    )
    capsys.readouterr()
    slides = Presentation(str(deck)).slides
    assert len(slides) >= 8 and slides[0].shapes.title.text == ACCOUNT

    assert cli.main(["--db", copy_url, "verify", str(pdf)]) == 0
    out = capsys.readouterr().out
    assert f"Archived edition 1 of {ACCOUNT}" in out and "$6,456,512" in out
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(pdf.read_bytes() + b"\n% edited\n")
    assert cli.main(["--db", copy_url, "verify", str(changed), "--password-file", str(pw)]) == 1
    assert "MODIFIED" in capsys.readouterr().out
    other = tmp_path / "other.pdf"
    other.write_bytes(b"%PDF-1.7\n% not a pack\n")
    assert cli.main(["--db", copy_url, "verify", str(other)]) == 1
    assert "not an archived edition" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--account", "Nobody Ltd"], "Nobody Ltd"),
        (["--account", ACCOUNT, "--as-of", "2020-01"], "has no data up to 2020-01-31"),
    ],
)
def test_a_failed_build_exits_non_zero_with_one_readable_line(
    copy_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], says: str
) -> None:
    target = tmp_path / "x.pdf"
    rc = cli.main(["--db", copy_url, "pack", *extra, "--out", str(target)])
    out, err = capsys.readouterr()
    assert rc != 0 and not target.exists()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and says in errors[0], err
    assert "Traceback" not in err and err.rstrip().splitlines()[-1] == errors[0]


def test_pack_all_in_two_worker_processes_writes_the_same_files_in_the_same_order(
    demo_url: str, demo_story_bundle: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--jobs 2`` builds the accounts in two processes: the same file names, the same
    summary and progress lines in the same (account) order as one process, except the
    SHA-256, which covers the build time printed in the pack."""
    import re
    import sqlite3

    runs = []
    for jobs in ("1", "2"):
        db = tmp_path / f"copy{jobs}.sqlite"
        with (
            sqlite3.connect(demo_url.removeprefix("sqlite:///")) as src,
            sqlite3.connect(db) as dst,
        ):
            src.backup(dst)
        out_dir = tmp_path / f"packs{jobs}"
        args = ["pack", "--all", "--as-of", "2026-06", "--out-dir", str(out_dir)]
        rc = cli.main(["--db", f"sqlite:///{db}", *args, "--jobs", jobs])
        out, err = capsys.readouterr()
        assert rc == 0, err
        names = sorted(p.name for p in out_dir.iterdir())
        assert all((out_dir / n).read_bytes().startswith(b"%PDF") for n in names)
        summary = re.sub(r"sha256 [0-9a-f]{64}", "sha256 …", out.replace(str(out_dir), "DIR"))
        said, _, progress = err.partition("\n")
        assert said == f"2 accounts, --jobs {jobs}"
        runs.append((names, summary, progress))
    assert len(runs[0][0]) == 2 and runs[0] == runs[1]
    assert runs[1][1].index("Northwind") < runs[1][1].index("Rheinland")


def test_pack_all_without_jobs_says_the_default_it_used(
    copy_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without ``--jobs`` the run names the worker count it chose on stderr (one core here,
    so one process), so a scheduled run's log says how it ran."""
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    rc = cli.main(["--db", copy_url, "pack", "--all", "--out-dir", str(tmp_path / "packs")])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert err.splitlines()[0] == "2 accounts, --jobs 1"
