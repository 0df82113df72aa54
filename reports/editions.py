"""Editions of the renewal pack: what an edition archives, what changed since the last one,
recognising a file as an edition, and password protection.

``edition_figures(story, pack_data)`` is the JSON an edition keeps: the texts the pack printed
and the raw values behind them (headline, each KPI now, each month's value, each innovation's
go-live and evidence level). ``what_changed(previous, story)`` compares the last edition's with
the story about to be printed: new go-lives, value added, the KPIs that moved most, evidence
upgrades and downgrades, and restated figures — a month already printed whose value is now
different because data was re-imported (old → new).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from typing import Any

import pikepdf
from pypdf import PdfReader

from metrics.format import counted, money, pct
from metrics.rules import EVIDENCE_KEYS, EVIDENCE_LABELS, evidence_label, evidence_rank
from story.model import Section, Story, Table

__all__ = [
    "VerifyResult",
    "content_checksum_in",
    "edition_figures",
    "protect",
    "what_changed",
]

#: An evidence level by its key or its label (``metrics.rules``) → its key.
_LEVEL_OF = {**{k: k for k in EVIDENCE_KEYS}, **{v: k for k, v in EVIDENCE_LABELS.items()}}
#: A month's value counts as restated when it moved by at least a cent.
RESTATE_TOLERANCE = 0.005


def _values(story: Story) -> dict[str, Any]:
    head = {f.key: f.value for f in story.section("headline").figures}
    kpis = {}
    try:
        for f in story.section("scorecard").figures:
            kpis[f.key.removeprefix("kpi:")] = {"label": f.label, "now": f.value, "text": f.text}
    except KeyError:
        pass
    months = {}
    try:
        for f in story.section("curve").figures:
            if f.key.startswith("month:"):
                months[f.key.removeprefix("month:")] = {"value": f.value, "text": f.exact}
    except KeyError:
        pass
    inn = story.section("innovations").table("innovations")
    col = {c: i for i, c in enumerate(inn.columns)}
    innovations = {
        r[col["Code"]]: {
            "title": r[col["Title"]],
            "go_live": r[col["First go-live"]],
            # archived as the level's key (editions printed before the labels hold keys)
            "evidence": _LEVEL_OF.get(r[col["Evidence"]], r[col["Evidence"]]),
        }
        for r in inn.rows
    }
    return {
        "headline": head,
        "headline_text": story.headline_figures(),
        "kpis": kpis,
        "months": months,
        "innovations": innovations,
        "data_through": story.data_through.isoformat(),
    }


def edition_figures(story: Story, pack: dict[str, Any]) -> dict[str, Any]:
    """What an edition archives beside its PDF."""
    return {"values": _values(story), "pack": pack}


def what_changed(previous: dict[str, Any] | None, prev_label: str, story: Story) -> Section:
    """The "What changed since the last edition" section. ``previous``: the last edition's
    ``edition_figures`` (None for a first edition); ``prev_label`` names it."""
    title = "What changed since the last edition"
    if not previous or "values" not in previous:
        return Section(
            "changes",
            title,
            sentences=("This is the first edition of this account's renewal pack.",),
        )
    old, new = previous["values"], _values(story)
    cur, loc = story.currency, story.locale

    def m(v: float | None) -> str:
        return money(v, cur, loc, compact=False)

    sentences = [f"Compared with {prev_label}."]
    o_val = old["headline"].get("value_to_date")
    n_val = new["headline"].get("value_to_date")
    if o_val is not None and n_val is not None:
        sentences.append(
            f"Value to date: {m(o_val)} → {m(n_val)} ({'+' if n_val >= o_val else ''}"
            f"{m(n_val - o_val)})."
        )
    tables: list[Table] = []
    # new go-lives
    golive = [
        (code, v["title"], v["go_live"])
        for code, v in new["innovations"].items()
        if v["go_live"] != "—"
        and old["innovations"].get(code, {}).get("go_live", "—") in ("—", None)
    ]
    sentences.append(
        f"{counted(len(golive), 'new go-live')} since then."
        if golive
        else "No new go-lives since then."
    )
    if golive:
        tables.append(
            Table("new_golives", ("Code", "Title", "First go-live"), tuple(golive), "New go-lives")
        )
    # KPIs that moved most (relative change of the 'now' level)
    moves = []
    for key, v in new["kpis"].items():
        o = old["kpis"].get(key)
        if o is None or not o.get("now") or v.get("now") is None:
            continue
        rel = (v["now"] - o["now"]) / abs(o["now"])
        moves.append((abs(rel), v["label"], o["text"], v["text"], pct(rel, loc)))
    moves.sort(reverse=True)
    if moves:
        tables.append(
            Table(
                "kpi_moves",
                ("KPI", "Last edition", "Now", "Change"),
                tuple(r[1:] for r in moves[:3]),
                "KPIs that moved most",
                numeric=("Last edition", "Now", "Change"),
            )
        )
    # evidence upgrades / downgrades
    ev = []
    for code, v in new["innovations"].items():
        o = old["innovations"].get(code)
        if o is None or o["evidence"] == v["evidence"] or "—" in (o["evidence"], v["evidence"]):
            continue
        was, now = _LEVEL_OF.get(o["evidence"]), _LEVEL_OF.get(v["evidence"])
        if was is None or now is None:
            continue
        up = evidence_rank(now) < evidence_rank(was)  # rank 0 is the strongest
        ev.append(
            (
                code,
                v["title"],
                f"{evidence_label(was)} → {evidence_label(now)}",
                "upgrade" if up else "downgrade",
            )
        )
    if ev:
        tables.append(
            Table(
                "evidence_changes",
                ("Code", "Title", "Evidence", ""),
                tuple(ev),
                "Evidence upgrades and downgrades",
            )
        )
    else:
        sentences.append("No innovation changed evidence level.")
    # restated figures: a month both editions printed, with a different value now
    restated = []
    for month, o in sorted(old["months"].items()):
        n = new["months"].get(month)
        if n is None or o.get("value") is None or n.get("value") is None:
            continue
        if abs(float(n["value"]) - float(o["value"])) >= RESTATE_TOLERANCE:
            restated.append((month, o["text"], n["text"]))
    if restated:
        sentences.append(
            f"{counted(len(restated), 'month')} already printed "
            "changed value because the data was re-imported (restated: old → new)."
        )
        tables.append(
            Table(
                "restated",
                ("Month", "Printed in the last edition", "Now"),
                tuple(restated),
                "Restated figures",
                numeric=("Printed in the last edition", "Now"),
            )
        )
    else:
        sentences.append("No figure printed in the last edition has been restated.")
    return Section("changes", title, sentences=tuple(sentences), tables=tuple(tables))


_CHECKSUM = re.compile(r"content\s+SHA-256\s+((?:[0-9a-f]\s*){64})")


def content_checksum_in(pdf: bytes, password: str | None = None) -> str | None:
    """The content checksum printed in a pack's footer (None when there is none)."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a non-PDF is an answer, not a warning
    try:
        reader = PdfReader(io.BytesIO(pdf))
        if reader.is_encrypted and (not password or not reader.decrypt(password)):
            return None
        text = "\n".join((p.extract_text() or "") for p in reader.pages[:3])
    except Exception:  # noqa: BLE001 - any unreadable file is simply not an edition
        return None
    hit = _CHECKSUM.search(text)
    return re.sub(r"\s+", "", hit.group(1)) if hit else None


@dataclass(frozen=True)
class VerifyResult:
    status: str  # "edition", "modified", "not an edition"
    sha256: str
    message: str
    account: str = ""
    edition_no: int = 0
    as_of: str = ""
    headline: dict[str, str] | None = None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def protect(pdf: bytes, password: str) -> bytes:
    """The PDF encrypted with AES-256 (PDF 2.0 security handler R6): opening needs
    ``password``; printing and copying stay allowed. The password is used here only."""
    if not password:
        raise ValueError("the password is empty")
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        doc.save(out, encryption=pikepdf.Encryption(owner=password, user=password, R=6, aes=True))
    return out.getvalue()
