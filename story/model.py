"""The story of one account, as data: what every view shows, computed once per selection.

``build_story(data, selection, as_of=…, estimates=…)`` calls the metrics layer once per
intermediate (the frozen baseline once, the attribution once, the value lines once) and hands
the results on, then turns each view into a ``Section``: formatted ``Figure``s, sentences
(``metrics.narrative``, plain text), ``Table``s as rows of strings, ``Chart``s as Vega-Lite
JSON from the same ``charts/`` builders as the screen (made when first read), and notes.
Nothing here formats a number itself: every text comes from ``metrics.format`` through
``metrics.views``. ``Story.parts`` keeps the view models the sections were made from, so the
screen draws its interactive charts from the same objects instead of computing them again.

A story is immutable and JSON-ready (``Story.to_dict``), so the pack, the deck, the CLI and
an archived edition hold exactly the same texts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from charts.contract import gain_share_chart, productivity_chart
from charts.story import cumulative_value_chart
from charts.then_now import then_now_chart
from charts.value import bridge_chart, evidence_chart
from data_loaders.queries import AccountData
from metrics import method_notes, reuse, views
from metrics import narrative as beats
from metrics.attribution import attribution
from metrics.baseline import Baseline, account_baseline
from metrics.filters import FilterLike, Filters, in_categories, limit_to
from metrics.format import counted, money, number, pct
from metrics.impact import EVIDENCE_NOTES
from metrics.method_notes import METHOD_NOTES, NOTATION
from metrics.rules import EVIDENCE_KEYS, EVIDENCE_LABELS
from metrics.signoff import Agreement, Status, data_period
from metrics.value import live_months

__all__ = [
    "APPENDIX_KEYS",
    "NOT_ESTIMATED_NOTE",
    "PACK_SECTION_KEYS",
    "SECTION_KEYS",
    "Chart",
    "Figure",
    "NoStory",
    "Parts",
    "Section",
    "Story",
    "Table",
    "build_story",
]

#: The order of the sections; the pack, the deck and the CLI follow it.
SECTION_KEYS = (
    "headline",
    "narrative",
    "scorecard",
    "curve",
    "bridge",
    "innovations",
    "reconciliation",
    "contract",
    "pipeline",
    "method",
    "data_quality",
)
#: The appendix sections, last in every output.
APPENDIX_KEYS = ("method", "data_quality")
#: The pack's sections: the story's, with "what changed since the last edition"
#: (``reports.editions``) after the contract figures and the outlook, before the appendix.
PACK_SECTION_KEYS = (
    *(k for k in SECTION_KEYS if k not in APPENDIX_KEYS),
    "changes",
    *APPENDIX_KEYS,
)


#: The headline's note when the story is told without the causal estimates.
NOT_ESTIMATED_NOTE = (
    "The causal estimates of this data are not computed yet: the evidence mix counts "
    "measured and claimed innovations only."
)


class NoStory(ValueError):
    """The selection has no measured value (no KPI observations against a baseline)."""


@dataclass(frozen=True)
class Figure:
    """One figure as shown: ``text`` (the card's, often compact: ``$6.5M``), ``exact``
    (whole units: ``$6,456,512``), the raw ``value`` for comparisons, and its help line."""

    key: str
    label: str
    text: str
    exact: str = ""
    value: float | None = None
    help: str = ""


@dataclass(frozen=True)
class Table:
    """A table as printed: every cell already a string; ``numeric`` names the right-aligned
    columns."""

    key: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str = ""
    numeric: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Chart:
    """A chart as a Vega-Lite spec (JSON text, data inlined) from a ``charts/`` builder.

    The spec is made when first read (``spec``), from the builder and the inputs the story
    handed it (``recipe``): the screen draws its charts itself from the view models
    (``Story.parts``), so a story told for a page run never pays for the specs that only
    paper, the deck and the CLI print — they were two thirds of a cold story's CPU."""

    key: str
    title: str
    recipe: tuple[Any, tuple[Any, ...], dict[str, Any]] = field(repr=False)
    wide: bool = False  # reads better landscape / full width

    @property
    def spec(self) -> str:
        made = self.__dict__.get("_spec")
        if made is None:
            made = _spec(*self.recipe)
            object.__setattr__(self, "_spec", made)  # frozen: the one memo of the spec
        return str(made)

    def as_dict(self) -> dict[str, Any]:
        return json.loads(self.spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Chart):
            return NotImplemented
        return (self.key, self.title, self.wide, self.spec) == (
            other.key,
            other.title,
            other.wide,
            other.spec,
        )

    def __hash__(self) -> int:
        return hash((self.key, self.title, self.wide, self.spec))


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    figures: tuple[Figure, ...] = ()
    sentences: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    notes: tuple[str, ...] = ()
    #: The sentences again, as Markdown (figures in bold, names escaped), for the screen:
    #: the same texts as ``sentences``, which paper and the CLI print plain.
    markdown: tuple[str, ...] = ()
    #: Indices of the sentences that change once the causal estimates are stored (the
    #: evidence mix): the screen shows the rest at once and fills these in.
    needs_estimates: tuple[int, ...] = ()

    def figure(self, key: str) -> Figure:
        for f in self.figures:
            if f.key == key:
                return f
        raise KeyError(f"section {self.key!r} has no figure {key!r}")

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(f"section {self.key!r} has no table {key!r}")


@dataclass(frozen=True)
class Parts:
    """The view models a story was told from, for the renderers that draw from frames: the
    screen's interactive curve, its Then & Now strip, present mode's charts at presentation
    scale, the Value page's tables. The same objects the sections were formatted from, so
    what the screen draws is what paper prints; never part of ``Story.to_dict``."""

    headline: views.HeadlineView
    lines: pd.DataFrame  # ``metrics.views.value_lines``
    photo: views.Photo | None
    curve: views.CurveView | None
    bridge: pd.DataFrame  # ``metrics.views.bridge_steps`` with the evidence levels
    contract: views.ContractView | None
    pipeline: views.PipelineView


@dataclass(frozen=True)
class Story:
    account: str
    account_id: int
    currency: str
    locale: str
    as_of: dt.date  # the date asked for (data after it is left out)
    data_through: dt.date  # the last day of the last month measured
    since: dt.date  # the first month measured
    baseline: tuple[dt.date, dt.date]
    contract: tuple[dt.date, dt.date]
    evidence_basis: str  # "causal estimates" or "measured and claimed only"
    sections: tuple[Section, ...] = field(default_factory=tuple)
    parts: Parts | None = field(default=None, compare=False, repr=False)

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"the story has no section {key!r}")

    def headline_figures(self) -> dict[str, str]:
        """``key → text`` of the headline cards and their exact amounts (``*_exact``)."""
        out: dict[str, str] = {}
        for f in self.section("headline").figures:
            out[f.key] = f.text
            if f.exact and f.exact != f.text:
                out[f"{f.key}_exact"] = f.exact
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (dates ISO, chart specs parsed)."""

        def fig(f: Figure) -> dict[str, Any]:
            return {
                "key": f.key,
                "label": f.label,
                "text": f.text,
                "exact": f.exact,
                "value": None if f.value is None else round(float(f.value), 4),
                "help": f.help,
            }

        return {
            "account": self.account,
            "currency": self.currency,
            "locale": self.locale,
            "as_of": self.as_of.isoformat(),
            "data_through": self.data_through.isoformat(),
            "since": self.since.isoformat(),
            "baseline": [d.isoformat() for d in self.baseline],
            "contract": [d.isoformat() for d in self.contract],
            "evidence_basis": self.evidence_basis,
            "headline": self.headline_figures(),
            "sections": [
                {
                    "key": s.key,
                    "title": s.title,
                    "figures": [fig(f) for f in s.figures],
                    "sentences": list(s.sentences),
                    "tables": [
                        {
                            "key": t.key,
                            "title": t.title,
                            "columns": list(t.columns),
                            "numeric": list(t.numeric),
                            "rows": [list(r) for r in t.rows],
                        }
                        for t in s.tables
                    ],
                    "charts": [
                        {"key": c.key, "title": c.title, "wide": c.wide, "spec": c.as_dict()}
                        for c in s.charts
                    ],
                    "notes": list(s.notes),
                }
                for s in self.sections
            ],
        }


# --------------------------------------------------------------------------------------


_EMPH = re.compile(r"\*\*(.+?)\*\*|\*(\S(?:.*?\S)?)\*")


def plain(text: str) -> str:
    """Markdown emphasis (``**a**``, ``*u*``) removed: the sentences of ``metrics.narrative``
    and ``metrics.method_notes`` as plain text for paper."""
    return _EMPH.sub(lambda m: m.group(1) or m.group(2), text)


_TEX_SYMBOLS = {
    "sum": "Σ",
    "cdot": "·",
    "times": "×",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "in": "∈",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "varepsilon": "ε",
    "epsilon": "ε",
    "tau": "τ",
    "sigma": "σ",
    "mu": "μ",
    "quad": " ",
    "qquad": " ;; ",  # between two formulas
    ",": " ",
    ";": " ",
    ":": " ",
    " ": " ",
    "!": "",
}
_TEX_DROPPED = {"Big", "big", "Bigg", "bigg", "left", "right", "displaystyle"}
_TEX_WORDS = {"mathrm", "text", "operatorname", "mathit", "mathbf", "textrm"}
_SUPERSCRIPT = str.maketrans("0123456789+−=()nyijk", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿʸⁱʲᵏ")


def _tex_atom(s: str, i: int) -> tuple[str, int]:
    """One atom of ``s`` from ``i``: a {group}, a command with its arguments, or a char."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        return "", i
    c = s[i]
    if c == "{":
        return _tex(s, i + 1, "}")
    if c != "\\":
        return ("−" if c == "-" else c), i + 1
    m = re.match(r"\\([A-Za-z]+|.)", s[i:])
    assert m is not None
    name, i = m.group(1), i + len(m.group(0))
    if name in _TEX_WORDS:
        return _tex_atom(s, i)
    if name in ("frac", "tfrac", "dfrac"):
        num, i = _tex_atom(s, i)
        den, i = _tex_atom(s, i)
        return f"{_tex_wrap(num)} / {_tex_wrap(den)}", i
    if name == "hat":
        base, i = _tex_atom(s, i)
        return base + "\u0302", i
    if name in _TEX_DROPPED:
        return "", i
    return _TEX_SYMBOLS.get(name, name), i


def _tex_wrap(t: str) -> str:
    t = t.strip()
    return f"({t})" if re.search(r"[\s+−=·/]", t) else t


def _tex(s: str, i: int = 0, stop: str | None = None) -> tuple[str, int]:
    out: list[str] = []
    while i < len(s):
        if stop is not None and s[i] == stop:
            return "".join(out), i + 1
        if s[i] == " ":  # kept: text words and operators need their spaces
            out.append(" ")
            i += 1
            continue
        if s[i] in "_^":
            kind = s[i]
            arg, i = _tex_atom(s, i + 1)
            arg = " ".join(arg.split())
            if kind == "_":
                out.append(f"[{arg}]" + (" " if out and out[-1] == "Σ" else ""))
            elif arg and all(ch in "0123456789+−=()nyijk" for ch in arg):
                out.append(arg.translate(_SUPERSCRIPT))
            else:
                out.append(f"^({arg})")
            continue
        atom, i = _tex_atom(s, i)
        out.append(atom)
    return "".join(out), i


def formula_text(tex: str) -> str:
    """A LaTeX formula of ``metrics.method_notes`` as readable plain text for paper and
    slides: indices in brackets (``base[u,k]``), ``Σ[m ∈ B]``, fractions as ``(a) / (b)``,
    Greek letters and operators as characters, the true minus sign."""
    text, _ = _tex(tex)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s*([=·≤≥])\s*", r" \1 ", text)
    return re.sub(r",?\s*;;\s*", "; ", text)


def _s(v: Any) -> str:
    if v is None or v is pd.NaT or (isinstance(v, float) and pd.isna(v)):
        return "—"
    if isinstance(v, pd.Timestamp | dt.datetime):
        return f"{v:%d %b %Y}"
    if isinstance(v, dt.date):
        return f"{v:%d %b %Y}"
    return str(v)


#: Vega-Lite specs by the fingerprint of their builder's inputs (``_spec``): building an
#: Altair chart and serialising it is most of a story's time, and a builder is a pure
#: function of its frames and options, so equal inputs give the same JSON text. Bounded:
#: the oldest entry goes first.
_SPECS: dict[str, str] = {}
_SPECS_MAX = 128


def clear_caches() -> None:
    """Forget the memoised chart specs (benchmarks measure a build without them)."""
    _SPECS.clear()


def _fingerprint(h: Any, v: Any) -> None:
    if isinstance(v, pd.DataFrame):
        h.update(f"df{v.shape}|{list(v.columns)}|{list(map(str, v.dtypes))}".encode())
        if len(v):
            h.update(pd.util.hash_pandas_object(v, index=True).to_numpy().tobytes())
    elif isinstance(v, pd.Series):
        _fingerprint(h, v.to_frame())
    elif isinstance(v, dict):
        h.update(b"{")
        for k in sorted(v, key=repr):
            h.update(repr(k).encode())
            _fingerprint(h, v[k])
        h.update(b"}")
    elif isinstance(v, list | tuple):
        h.update(b"[")
        for x in v:
            _fingerprint(h, x)
        h.update(b"]")
    elif v is None or isinstance(v, str | int | float | bool | dt.date):
        h.update(f"{type(v).__name__}:{v!r}".encode())
    else:
        raise TypeError(f"no fingerprint for {type(v).__name__}")


def _chart(
    key: str, title: str, builder: Any, /, *args: Any, wide: bool = False, **kwargs: Any
) -> Chart:
    """``builder(*args, **kwargs)`` (a ``charts/`` function) as a ``Chart`` whose spec is
    made when first read (``Chart.spec``)."""
    return Chart(key=key, title=title, recipe=(builder, args, kwargs), wide=wide)


def chart_fingerprint(builder: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """A digest of a ``charts/`` builder and its inputs (frames by their content): equal
    digests, the same chart. None when an input has no fingerprint (the caller builds the
    chart every time). Shared by the story's specs and the screen's (``ui.card_and_chart``)."""
    h = hashlib.sha256(f"{builder.__module__}.{builder.__qualname__}".encode())
    try:
        _fingerprint(h, (args, kwargs))
    except TypeError:
        return None
    return h.hexdigest()


def _spec(builder: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The Vega-Lite JSON of ``builder(*args, **kwargs)``, memoised by the fingerprint of the
    builder and its inputs (see ``_SPECS``)."""
    fp = chart_fingerprint(builder, args, kwargs)
    spec = _SPECS.get(fp) if fp is not None else None
    if spec is None:
        # Some frames carry ``datetime.date`` cells (contract years), which Altair leaves as is.
        spec = json.dumps(
            builder(*args, **kwargs).to_dict(validate=False),
            default=lambda v: v.isoformat(),
            ensure_ascii=False,
        )
        if fp is not None:
            while len(_SPECS) >= _SPECS_MAX:
                _SPECS.pop(next(iter(_SPECS)))
            _SPECS[fp] = spec
    return spec


def _table(
    key: str, frame: pd.DataFrame, columns: Iterable[str], *, title: str = "", numeric=()
) -> Table:
    cols = tuple(columns)
    rows = tuple(tuple(_s(r[c]) for c in cols) for r in frame.to_dict("records"))
    return Table(key=key, columns=cols, rows=rows, title=title, numeric=tuple(numeric))


def build_story(
    data: AccountData,
    selection: FilterLike | None = None,
    *,
    as_of: dt.date | None = None,
    estimates: pd.DataFrame | None = None,
    signoffs: Mapping[str, Agreement] | None = None,
    base: Baseline | None = None,
    attr: pd.DataFrame | None = None,
) -> Story:
    """The whole story of ``data`` for ``selection`` with the data limited to ``as_of``
    (``metrics.filters.limit_to``). ``estimates``: ``services.estimates.estimate_innovations``
    of the same (limited) data; without them no innovation counts as ``estimated`` and the story says so.
    ``signoffs``: the client's latest agreement per innovation code for the period of the
    data (``metrics.signoff.data_period``); the innovation table then says of each line
    whether it is agreed (by whom, when) or changed since agreed (old → new).
    ``base``/``attr``: ``metrics.baseline.account_baseline`` and
    ``metrics.attribution.attribution(data, selection, base)`` of the same (limited) data
    when the caller holds them already (the page boundary caches them per selection); else
    computed here, once. Raises ``NoStory`` when the selection has no measured value."""
    # the same intermediates (live months, claimed, measured benefit, states) are asked for
    # by several views: computed once in this build (``metrics.reuse``)
    with reuse.one_pass():
        return _build_story(data, selection, as_of, estimates, signoffs, base, attr)


def _build_story(
    data: AccountData,
    selection: FilterLike | None,
    as_of: dt.date | None,
    estimates: pd.DataFrame | None,
    signoffs: Mapping[str, Agreement] | None,
    base: Baseline | None = None,
    attr: pd.DataFrame | None = None,
) -> Story:
    sel = selection if selection is not None else Filters()
    data = limit_to(data, as_of)
    a = data.account
    cur, loc = a.currency, a.locale
    base = base if base is not None else account_baseline(data)
    attr = attr if attr is not None else attribution(data, sel, base)
    est = estimates if estimates is not None and not estimates.empty else None
    lines = views.value_lines(data, sel, est, base=base, attr=attr)
    evidence = views.evidence_of(lines)
    head = views.headline_view(data, sel, evidence, base=base, attr=attr)
    if head is None:
        when = f" up to {as_of:%Y-%m-%d}" if as_of else ""
        raise NoStory(
            f"account {a.name!r} has no measured value{when}: no KPI observations of its "
            "headline KPIs against a baseline"
        )
    pic = views.photo(data, sel)
    curve = views.curve_view(data, sel, base=base, attr=attr)
    bridge = views.bridge_steps(data, sel, base=base, attr=attr, evidence=evidence)
    contract = views.contract_view(data, sel, base=base)
    pipe = views.pipeline_view(data, sel)
    story_beats = views.narrative_beats(
        data,
        sel,
        head=head,
        pic=pic,
        bridge=bridge,
        contract=contract,
        pipe=pipe,
        base=base,
        attr=attr,
    )
    sentences = tuple(beats.render(story_beats, cur, loc, markdown=False))
    evidence_source = beats.evidence_beat({}).source
    narrative = Section(
        "narrative",
        "The story so far",
        sentences=sentences,
        markdown=tuple(beats.render(story_beats, cur, loc, markdown=True)),
        needs_estimates=tuple(i for i, b in enumerate(story_beats) if b.source == evidence_source),
    )
    through = (pd.Timestamp(head.as_of) + pd.offsets.MonthEnd(0)).date()
    basis = "causal estimates" if est is not None else "measured and claimed only"

    sections = [
        _headline(head, cur, loc, basis),
        narrative,
        _scorecard(pic),
        _curve(curve, cur, loc),
        _bridge(bridge, cur, loc),
        _innovations(data, sel, lines, signoffs or {}),
        _reconciliation(head, lines, cur, loc, units_selected=bool(sel.unit_ids)),
        _contract(contract, cur, loc),
        _pipeline(pipe),
        _method(data),
        _data_quality(data, head, base, basis),
    ]
    return Story(
        account=a.name,
        account_id=a.id,
        currency=cur,
        locale=loc,
        as_of=as_of if as_of is not None else through,
        data_through=through,
        since=head.since,
        baseline=(a.baseline_start, a.baseline_end),
        contract=(a.contract_start, a.contract_end),
        evidence_basis=basis,
        sections=tuple(s for s in sections if s is not None),
        parts=Parts(head, lines, pic, curve, bridge, contract, pipe),
    )


def _headline(h: views.HeadlineView, cur: str, loc: str, basis: str) -> Section:
    figures = (
        Figure(
            "value_to_date",
            "Value to date",
            h.value_text,
            money(h.value_to_date, cur, loc, compact=False),
            h.value_to_date,
            h.value_help,
        ),
        Figure(
            "run_rate",
            "Run-rate per year",
            h.run_rate_text,
            money(h.run_rate, cur, loc, compact=False),
            h.run_rate,
            h.run_rate_help,
        ),
        Figure(
            "innovations_live",
            "Innovations live",
            h.live_text,
            h.live_text,
            float(h.innovations_live),
            h.live_help,
        ),
        Figure(
            "causal_estimates",
            "Causal estimates",
            h.evidence_text,
            h.evidence_text,
            float(h.evidence_mix.get("estimated", 0)),
            h.evidence_help,
        ),
    )
    notes = [h.caption]
    if h.gaps_text:
        notes.append(h.gaps_text)
    if basis != "causal estimates":
        notes.append(NOT_ESTIMATED_NOTE)
    return Section("headline", "Where we are", figures=figures, notes=tuple(notes))


def _scorecard(pic: views.Photo | None) -> Section | None:
    if pic is None or pic.cards.empty:
        return None
    cards = pic.cards.copy()
    cards["verdict"] = [
        "client demand" if d else "better" if b is True else "worse" if b is False else "same"
        for b, d in zip(cards["better"].astype(object), cards["demand"], strict=True)
    ]
    table = _table(
        "scorecard",
        cards,
        ("label", "then_text", "now_text", "delta_text", "verdict"),
        title=f"Then ({pic.then_label}) vs now ({pic.now_label})",
        numeric=("then_text", "now_text", "delta_text"),
    )
    table = Table(
        key=table.key,
        columns=("KPI", f"Then · {pic.then_label}", f"Now · {pic.now_label}", "Change", ""),
        rows=table.rows,
        title=table.title,
        numeric=(f"Then · {pic.then_label}", f"Now · {pic.now_label}", "Change"),
    )
    figures = tuple(
        Figure(
            f"kpi:{r['key']}",
            str(r["label"]),
            str(r["now_text"]),
            str(r["then_text"]),
            float(r["now"]),
            # both figures are averages over their period (a contract figure may be one
            # month's): said, so "now" is never unlabelled
            f"{pic.now_label} average; {r['delta_text']} vs {r['then_text']} "
            f"({pic.then_label} average)",
        )
        for r in cards.to_dict("records")
    )
    between = _table(
        "went_live",
        pic.between,
        ("code", "title", "category", "went live"),
        title=f"Went live between {pic.then_label} and {pic.now_label}",
    )
    chart = _chart(
        "then_now",
        "Change since then",
        then_now_chart,
        pic.cards,
        then_label=pic.then_label,
        now_label=pic.now_label,
    )
    return Section(
        "scorecard",
        "Then and now",
        figures=figures,
        sentences=(plain(pic.between_sentence),),
        tables=(table, between),
        charts=(chart,),
    )


def _curve(c: views.CurveView | None, cur: str, loc: str) -> Section | None:
    if c is None:
        return None
    curve_chart = _chart(
        "curve",
        "Cumulative value with go-lives",
        cumulative_value_chart,
        c.curve,
        c.golives,
        c.events,
        currency=cur,
        locale=loc,
        money_format=c.money_by_month,
        height=300,
        retirements=c.retirements,
        wide=True,
    )
    last = c.money_text[-1] if c.money_text else "—"
    # each month's own value: what an edition compares to find restated figures
    months = tuple(
        Figure(
            f"month:{m:%Y-%m}",
            f"{m:%b %Y}",
            money(v, cur, loc, compact=False),
            money(v, cur, loc, compact=False),
            float(v),
        )
        for m, v in zip(pd.to_datetime(c.curve["month"]), c.curve["benefit"], strict=True)
    )
    return Section(
        "curve",
        "Value, month after month",
        figures=(Figure("cumulative", "Value to date", last, last), *months),
        charts=(curve_chart,),
        notes=(
            f"▲ marks each of the {counted(len(c.golives), 'innovation')} going live; "
            "dotted lines are "
            "events."
            + (
                f" ■ marks {counted(len(c.retirements), 'retirement')} ("
                + ", ".join(f"{r.code} on {r.date:%d %b %Y}" for r in c.retirements.itertuples())
                + "): credit and claims stop there, the value before stays."
                if not c.retirements.empty
                else ""
            ),
        ),
    )


def _bridge(steps: pd.DataFrame, cur: str, loc: str) -> Section | None:
    if steps.empty:
        return None
    shown = steps.assign(
        level=[EVIDENCE_LABELS.get(e, e) if e else "" for e in steps["evidence"]],
        estimate=steps["estimate_text"] if "estimate_text" in steps.columns else "",
    )
    table = _table(
        "bridge",
        shown,
        ("label", "text", "level", "estimate"),
        numeric=("text", "estimate"),
    )
    # the value is the measured credit; the evidence level and the causal estimate are
    # separate columns (a "$1.1M · estimated" label read as if $1.1M were the estimate)
    table = Table(
        "bridge",
        ("Step", "Measured value", "Evidence", "Causal estimate"),
        table.rows,
        table.title,
        numeric=("Measured value", "Causal estimate"),
    )
    chart = _chart(
        "bridge",
        "Baseline → now",
        bridge_chart,
        steps,
        currency=cur,
        locale=loc,
        title=f"Value to date ({cur})",
        wide=True,
    )
    # each step's amount, for renderers that draw their own chart (the deck)
    amounts = tuple(
        Figure(f"step:{i}", str(r["label"]), str(r["text"]), str(r["text"]), float(r["value"]))
        for i, r in enumerate(steps.to_dict("records"))
    )
    return Section(
        "bridge",
        "What drove it",
        figures=amounts,
        tables=(table,),
        charts=(chart,),
        notes=(
            "Each innovation's step is the measured benefit credited to it; what no live "
            "innovation explains is shown as unattributed, never given to one. The evidence "
            "level and the causal estimate are shown beside the measured value, not added.",
        ),
    )


def _innovations(
    data: AccountData, sel: FilterLike, lines: pd.DataFrame, signoffs: Mapping[str, Agreement]
) -> Section:
    """Every innovation of the selection: the live ones (largest measured first) with their
    claimed, measured and estimated value and evidence level, then the rest by code; with
    ``signoffs``, each line's sign-off status (``metrics.signoff.Status``)."""
    inn = in_categories(data.innovations, sel)[["innovation_id", "code", "title", "stage"]]
    lm = live_months(data.rollouts)
    first = lm.groupby("innovation_id")["go_live"].min()
    inn = inn.assign(go_live=inn["innovation_id"].map(first))
    cols = ["innovation_id", "category", "claimed_text", "measured_text", "estimated_text"]
    merged = inn.merge(lines[[*cols, "evidence", "measured"]], on="innovation_id", how="left")
    merged["order"] = merged["innovation_id"].map(
        {i: n for n, i in enumerate(lines["innovation_id"])}
    )
    merged = merged.sort_values(["order", "code"], na_position="last")
    merged["category"] = merged["category"].fillna(
        merged["innovation_id"].map(data.innovations.set_index("innovation_id")["category"])
    )
    for c in ("claimed_text", "measured_text", "estimated_text", "evidence"):
        merged[c] = merged[c].fillna("—")
    # the reader's word for a level (metrics.rules), as on every other view
    merged["evidence"] = [EVIDENCE_LABELS.get(e, e) for e in merged["evidence"]]
    cur, loc = data.account.currency, data.account.locale
    status = {
        code: Status(agreement=signoffs[code], current=None if pd.isna(m) else float(m))
        for code, m in zip(merged["code"], merged["measured"], strict=True)
        if code in signoffs
    }
    merged["signoff"] = [
        status[c].label(lambda v: money(v, cur, loc, compact=False)) if c in status else ""
        for c in merged["code"]
    ]
    shown = [
        ("code", "Code"),
        ("title", "Title"),
        ("category", "Category"),
        ("stage", "Stage"),
        ("go_live", "First go-live"),
        ("claimed_text", "Claimed"),
        ("measured_text", "Measured"),
        ("estimated_text", "Estimated"),
        ("evidence", "Evidence"),
    ]
    if status:  # the column only when the client has agreed a line of this period
        shown.append(("signoff", "Sign-off"))
    table = _table("innovations", merged, [c for c, _ in shown])
    table = Table(
        "innovations",
        tuple(h for _, h in shown),
        table.rows,
        f"All {counted(len(merged), 'innovation')}",
        numeric=("Claimed", "Measured", "Estimated"),
    )
    counts = lines["evidence"].value_counts()
    figures = tuple(
        Figure(
            f"evidence:{lvl}",
            EVIDENCE_LABELS[lvl],
            str(int(counts.get(lvl, 0))),
            value=counts.get(lvl, 0),
        )
        for lvl in EVIDENCE_KEYS
    )
    # one figure per signed-off line (the deck lists them; an edition archives them)
    signed = tuple(
        Figure(
            f"signoff:{code}",
            f"{code} {title}",
            label,
            measured,
            state.current,
            "changed" if state.changed else "agreed",
        )
        for code, title, measured, label in zip(
            merged["code"], merged["title"], merged["measured_text"], merged["signoff"], strict=True
        )
        if (state := status.get(code)) is not None
    )
    changed = sum(1 for x in status.values() if x.changed)
    period = _period_words(data)
    if status:
        signoff_note = f"Sign-off ({period}): {len(status)} value line(s) agreed by the client" + (
            f"; {changed} of them changed since agreed (old → new), not shown as agreed."
            if changed
            else ", each still equal to the agreed figure."
        )
    else:
        signoff_note = f"Sign-off ({period}): no value line agreed by the client yet."
    return Section(
        "innovations",
        "Innovations and their evidence",
        figures=figures + signed,
        tables=(table,),
        notes=(
            *(_evidence_note(lvl) for lvl in EVIDENCE_KEYS),
            signoff_note,
        ),
    )


def _evidence_note(level: str) -> str:
    """What an evidence level means, under the label the reader sees everywhere."""
    return f"{EVIDENCE_LABELS[level]}: {EVIDENCE_NOTES[level]}"


def _period_words(data: AccountData) -> str:
    p = data_period(data.monthly["month"])
    return "no data" if p is None else f"{p[0]:%b %Y} – {p[1]:%b %Y}"


def _reconciliation(
    h: views.HeadlineView, lines: pd.DataFrame, cur: str, loc: str, *, units_selected: bool
) -> Section | None:
    if lines.empty:
        return None
    attributed = float(lines["measured"].fillna(0).sum())
    real = attributed / h.claimed_value if h.claimed_value > 0 else None
    figures = (
        Figure(
            "claimed",
            "Claimed by the live innovations",
            money(h.claimed_value, cur, loc, compact=False),
            value=h.claimed_value,
        ),
        Figure(
            "attributed",
            "Measured and credited to them",
            money(attributed, cur, loc, compact=False),
            value=attributed,
        ),
        Figure(
            "unattributed",
            "Measured, not explained by a live innovation",
            money(h.unattributed_value, cur, loc, compact=False),
            value=h.unattributed_value,
        ),
        Figure(
            "measured_total",
            "Measured value to date",
            money(h.value_to_date, cur, loc, compact=False),
            value=h.value_to_date,
        ),
        Figure("realisation", "Realisation (credited ÷ claimed)", pct(real, loc, signed=False)),
    )
    top = lines.head(12)
    chart = _chart(
        "evidence",
        "Claimed, measured and estimated (12 largest)",
        evidence_chart,
        top,
        currency=cur,
        locale=loc,
    )
    return Section(
        "reconciliation",
        "Claimed vs measured",
        figures=figures,
        charts=(chart,),
        notes=tuple(
            n
            for n in (
                "Credited + unattributed = measured, to the cent. Realisation is never capped "
                "by the promise.",
                method_notes.estimates_note(
                    lines, h.value_to_date, cur, loc, units_selected=units_selected
                ),
            )
            if n
        ),
    )


def _contract(k: views.ContractView | None, cur: str, loc: str) -> Section | None:
    if k is None:
        return None
    g = k.gain_share.copy()
    for c in ("goal", "goal_to_date", "savings", "client", "provider"):
        g[c] = [money(v, cur, loc, compact=False) for v in g[c]]
    gain = _table(
        "gain_share",
        g,
        ("contract_year", "goal", "goal_to_date", "savings", "client", "provider"),
        title="Gain-share per contract year",
        numeric=("goal", "goal_to_date", "savings", "client", "provider"),
    )
    gain = Table(
        "gain_share",
        ("Contract year", "Goal", "Goal to date", "Measured savings", "Client", "Provider"),
        gain.rows,
        gain.title,
        numeric=("Goal", "Goal to date", "Measured savings", "Client", "Provider"),
    )
    d = k.innovation_days.copy()
    for c in ("used", "contracted", "remaining"):
        d[c] = [number(v, loc, 0) for v in d[c]]
    days = _table(
        "innovation_days",
        d,
        ("contract_year", "used", "contracted", "remaining"),
        title="Innovation days",
    )
    days = Table(
        "innovation_days",
        ("Contract year", "Used", "Contracted", "Remaining"),
        days.rows,
        days.title,
        numeric=("Used", "Contracted", "Remaining"),
    )
    charts = [
        _chart(
            "productivity",
            "Productivity clause",
            productivity_chart,
            k.productivity,
            currency=cur,
            locale=loc,
            unit_label=k.unit_cost_label,
            height=220,
        ),
        _chart(
            "gain_share",
            "Gain-share",
            gain_share_chart,
            k.gain_share,
            currency=cur,
            locale=loc,
            height=220,
        ),
    ]
    return Section(
        "contract",
        "What the contract says",
        sentences=tuple(
            plain(s)
            for s in (
                # the clause's sentence names its KPI first, as the Contract page prints it
                f"{k.unit_cost_label}: {k.productivity_sentence}",
                k.gain_share_sentence,
                k.days_sentence,
            )
        ),
        tables=(gain, days),
        charts=tuple(charts),
        notes=(plain(k.gain_share_note),) if k.gain_share_note else (),
    )


def _pipeline(p: views.PipelineView) -> Section:
    table = _table(
        "upcoming",
        p.upcoming,
        ("code", "title", "stage", "category", "claim per year"),
        numeric=("claim per year",),
    )
    table = Table(
        "upcoming",
        ("Code", "Title", "Stage", "Category", "Claim per year"),
        table.rows,
        "Open pipeline",
        numeric=("Claim per year",),
    )
    return Section("pipeline", "What's next", sentences=(plain(p.sentence),), tables=(table,))


def _method(data: AccountData) -> Section:
    a = data.account
    headline = data.kpis[data.kpis["headline"] & data.kpis["money_value"].notna()]
    kpis = "; ".join(
        f"{r['label']} ({r['unit_of_measure']}, {r['direction']} is better, "
        f"{money(r['money_value'], a.currency, a.locale, compact=False)} per unit)"
        if r["money_value"] >= 1
        else f"{r['label']} ({r['unit_of_measure']}, {r['direction']} is better)"
        for r in headline.to_dict("records")
    )
    sentences = [
        plain(NOTATION),
        f"Baseline window: {a.baseline_start:%d %b %Y} – {a.baseline_end:%d %b %Y} (frozen).",
        f"Headline KPIs: {kpis or 'none'}.",
    ]
    table = Table(
        "method",
        ("Figure", "How it is computed", "Formula"),
        tuple((n.title, plain(n.text), formula_text(n.formula)) for n in METHOD_NOTES),
    )
    return Section(
        "method",
        "Method and baseline",
        sentences=tuple(sentences),
        tables=(table,),
        notes=tuple(_evidence_note(lvl) for lvl in EVIDENCE_KEYS),
    )


def _data_quality(data: AccountData, h: views.HeadlineView, base: Any, basis: str) -> Section:
    last = pd.Timestamp(data.monthly["month"].max()) if not data.monthly.empty else None
    notes = [
        "Last data month: " + (f"{last:%B %Y}" if last is not None else "none") + ".",
        f"Unit-months of the headline KPIs without data: {number(h.missing_months, data.account.locale, 0)} "
        "(not counted, not filled with zeros).",
    ]
    if h.baseline_missing:
        notes.append(
            "Not measured (no data in the baseline window): " + "; ".join(h.baseline_missing) + "."
        )
    else:
        notes.append("Every unit and headline KPI has a baseline.")
    notes.append(f"Evidence levels from: {basis}.")
    gaps = views.baseline_gaps(data, None, base)
    table = _table("baseline_gaps", gaps, ("unit", "kpi", "first_month"))
    table = Table("baseline_gaps", ("Unit", "KPI", "First data"), table.rows, "Units not measured")
    return Section(
        "data_quality",
        "Data quality",
        figures=(
            Figure(
                "missing_months",
                "Unit-months without data",
                number(h.missing_months, data.account.locale, 0),
                value=float(h.missing_months),
            ),
        ),
        tables=(table,) if table.rows else (),
        notes=tuple(notes),
    )
