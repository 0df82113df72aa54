"""The figures workflow behind ``thenandnow metrics``: an account's headline, its then-vs-now
photo and its story model (``story.build_story``, the one the Story page, present mode and
the pack render), with the causal estimates the dashboard would use.

``account_figures(engine, scope, account, as_of=…, estimates=…)`` reads the account's data
(limited to ``as_of``), picks the estimates and computes the figures with the same metric
functions as the pages, so the command line prints what the dashboard shows:

* ``estimates="stored"`` (the default): the estimates stored for this data version
  (``services.estimates.stored_estimates``), as the dashboard reads them; when none are
  stored the figures are measured and claimed only and ``evidence_basis`` says so;
* ``estimates="compute"``: the stored ones, else computed now (not stored: storing is the
  ``estimate`` command's, which needs the import role);
* ``estimates="none"``: measured and claimed only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from sqlalchemy import Engine

from data_loaders.access import Scope
from data_loaders.queries import AccountData, account_id_by_name, load_account_data
from metrics.filters import Filters, limit_to
from metrics.headline import Headline, headline
from metrics.rules import CATEGORIES, STATES
from metrics.views import Photo, evidence_of, photo, pipeline_view, value_lines
from services.estimates import estimate_innovations, stored_estimates
from story.model import Story, build_story

__all__ = ["AccountFigures", "EstimatesMode", "NoFigures", "account_figures"]

EstimatesMode = Literal["stored", "compute", "none"]

#: ``evidence_basis`` values, as the story model names them.
CAUSAL = "causal estimates"
NO_ESTIMATES = "measured and claimed only"


class NoFigures(ValueError):
    """The account has no measured value (up to the date asked for)."""


@dataclass(frozen=True, eq=False)
class AccountFigures:
    data: AccountData
    selection: Filters
    headline: Headline
    # live / in pipeline / rejected / retired of the selected categories' register (they add
    # up to it; ``metrics.rules`` states, as the Story's pipeline sentence counts them)
    states: dict[str, int]
    photo: Photo | None
    estimates: pd.DataFrame | None  # None: figures without causal estimates
    evidence_basis: str  # CAUSAL or NO_ESTIMATES
    basis_note: str  # why, in words ("" when the stored estimates were used)
    story: Story  # the story model of the same data, selection and estimates


def _selection(data: AccountData, units: Sequence[str], categories: Sequence[str]) -> Filters:
    """The filters of ``units`` (names as the dashboard shows them, e.g. "Lyon · Claims",
    any case) and ``categories``; an unknown one is refused with the known ones named."""
    names = {
        str(n).casefold(): int(u)
        for u, n in zip(data.units["unit_id"], data.units["name"], strict=True)
    }
    ids = []
    for u in units:
        if u.strip().casefold() not in names:
            known = ", ".join(sorted(str(n) for n in data.units["name"]))
            raise LookupError(f"No unit named {u!r} in {data.account.name}. Known units: {known}.")
        ids.append(names[u.strip().casefold()])
    cats = []
    for c in categories:
        if c.strip().lower() not in CATEGORIES:
            raise LookupError(f"No category {c!r}. Categories: {', '.join(CATEGORIES)}.")
        cats.append(c.strip().lower())
    return Filters(unit_ids=tuple(ids) or None, categories=tuple(cats) or None)


def account_figures(
    engine: Engine,
    scope: Scope,
    account: str,
    *,
    as_of: dt.date | None = None,
    estimates_mode: EstimatesMode = "stored",
    units: Sequence[str] = (),
    categories: Sequence[str] = (),
) -> AccountFigures:
    """The account's figures (module doc) for the selected ``units`` and ``categories``
    (none: the whole account), as the dashboard's filters select them. Raises LookupError /
    PermissionError for an account, unit or category the caller cannot read, ``NoFigures``
    when nothing is measured."""
    account_id = account_id_by_name(engine, scope, account)
    data = limit_to(load_account_data(engine, scope, account_id), as_of)
    sel = _selection(data, units, categories)
    est: pd.DataFrame | None = None
    note = ""
    if estimates_mode != "none":
        est = stored_estimates(engine, scope, account_id, data)
        if est is None and estimates_mode == "compute":
            est = estimate_innovations(data)
        elif est is None:
            note = (
                "no causal estimates are stored for this data"
                + (" (as of a date, the data differs from the stored run's)" if as_of else "")
                + ": --estimates computes them"
            )
    else:
        note = "causal estimates not used (--no-estimates)"
    est = est if est is not None and not est.empty else None
    evidence = evidence_of(value_lines(data, sel, est)) if est is not None else None
    head = headline(data, sel, as_of=as_of, evidence=evidence)  # as_of: its rounding note
    if head is None:
        when = f" up to {as_of:%Y-%m-%d}" if as_of else ""
        raise NoFigures(
            f"account {data.account.name!r} has no measured value{when}: "
            "no KPI observations of its headline KPIs against a baseline"
        )
    return AccountFigures(
        data=data,
        selection=sel,
        headline=head,
        states={s: pipeline_view(data, sel).counts[s] for s in STATES},
        photo=photo(data, sel),
        estimates=est,
        evidence_basis=CAUSAL if est is not None else NO_ESTIMATES,
        basis_note=note,
        story=build_story(data, sel, estimates=est),
    )
