"""The cover names the account's provider and client and shows their logos, all from the
accounts file (``provider_name``, ``client_name``, ``provider_logo``, ``client_logo``); a
logo that cannot be read stops the build with its path named."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from data_loaders.access import Scope
from data_loaders.db import make_engine
from services.pack import PackError, build_pack, preview_pages

HEADER = (
    "name,currency,locale,contract_start,contract_end,baseline_start,baseline_end,"
    "provider_name,client_name,provider_logo,client_logo\n"
)
NORTHWIND = "Northwind Insurance,USD,en_US,2023-01-01,2026-12-31,2023-01-01,2023-06-30"


def _import_accounts(url: str, tmp_path: Path, row: str) -> None:
    import cli

    path = tmp_path / "accounts.csv"
    path.write_text(HEADER + row + "\n", encoding="utf-8")
    assert cli.main(["--db", url, "import", str(path), "--no-estimates"]) == 0


def _cover_text(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text() or ""


def test_demo_cover_names_its_provider_and_client(copy_url: str) -> None:
    """The demo's accounts carry their parties: the cover prints them, --provider wins."""
    engine = make_engine(copy_url)
    built = build_pack(engine, Scope.everything(), "Northwind Insurance", ensure_estimates=False)
    cover = _cover_text(built.content)
    assert "Meridian Operations Partners" in cover
    assert "Northwind Insurance Group" in cover
    typed = build_pack(
        engine,
        Scope.everything(),
        "Northwind Insurance",
        provider="Typed At Build Ltd",
        ensure_estimates=False,
    )
    assert "Typed At Build Ltd" in _cover_text(typed.content)
    assert "Meridian Operations Partners" not in _cover_text(typed.content)
    engine.dispose()


def test_imported_parties_and_logos_are_on_the_cover(copy_url: str, tmp_path: Path) -> None:
    """An accounts file sets the names and both logos (a PNG and an SVG); the cover prints the
    names and draws the logos: red (the PNG) at the top left, blue (the SVG) at the top right."""
    png = tmp_path / "provider.png"
    Image.new("RGB", (240, 80), (255, 0, 0)).save(png)
    svg = tmp_path / "client.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100">'
        '<rect width="300" height="100" fill="#0000ff"/></svg>',
        encoding="utf-8",
    )
    _import_accounts(
        copy_url, tmp_path, f"{NORTHWIND},Acme Outsourcing,Northwind Holdings,{png},{svg}"
    )
    engine = make_engine(copy_url)
    built = build_pack(engine, Scope.everything(), "Northwind Insurance", ensure_estimates=False)
    engine.dispose()
    cover = _cover_text(built.content)
    assert "Acme Outsourcing" in cover and "Northwind Holdings" in cover
    page = Image.open(io.BytesIO(preview_pages(built, pages=1)[0])).convert("RGB")
    w, h = page.size
    top = (0, 0, w, h // 4)
    left = page.crop((top[0], top[1], w // 2, top[3]))
    right = page.crop((w // 2, top[1], w, top[3]))

    def count(im: Image.Image, rgb: tuple[int, int, int]) -> int:
        px = np.asarray(im, dtype=int)
        return int((np.abs(px - np.array(rgb)).max(axis=2) < 40).sum())

    assert count(left, (255, 0, 0)) > 200 and count(right, (255, 0, 0)) == 0
    assert count(right, (0, 0, 255)) > 200 and count(left, (0, 0, 255)) == 0


@pytest.mark.parametrize("kind", ["missing", "not an image"])
def test_an_unreadable_logo_is_refused_by_name(copy_url: str, tmp_path: Path, kind: str) -> None:
    """A logo path that does not exist, or a file that is no image, stops the build with a
    message naming the account, the column and the path."""
    logo = tmp_path / "logo.png"
    if kind == "not an image":
        logo.write_text("this is not a picture", encoding="utf-8")
    _import_accounts(copy_url, tmp_path, f"{NORTHWIND},Acme,Northwind,,{logo}")
    engine = make_engine(copy_url)
    with pytest.raises(PackError) as err:
        build_pack(engine, Scope.everything(), "Northwind Insurance", ensure_estimates=False)
    engine.dispose()
    msg = str(err.value)
    assert "Northwind Insurance" in msg and "client_logo" in msg and str(logo) in msg
    assert ("cannot be read" if kind == "missing" else "not a PNG, JPEG or SVG") in msg
