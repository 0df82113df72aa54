"""How a KPI card and an Altair chart are drawn, the same on every page and in present mode."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, Literal

import streamlit as st
from streamlit.dataframe_util import convert_anything_to_arrow_bytes
from streamlit.util import calc_hash

from story.model import chart_fingerprint

VegaLiteSpec = dict[str, Any]


def direction_color(better: bool | None) -> Literal["blue", "red", "gray"]:
    """Delta colour by meaning, not sign: better = blue, worse = vermillion (theme red)."""
    return "gray" if better is None else ("blue" if better else "red")


def kpi_card(
    label: str,
    value: str,
    *,
    delta: str | None = None,
    better: bool | None = None,
    change: float | None = None,
    help: str | None = None,
    container: Any = None,
    height: int | Literal["content"] = "content",
) -> None:
    """A big, bordered number. The delta's colour says whether it is better (blue) or worse
    (vermillion); its arrow follows the sign of ``change`` — two independent cues."""
    target = container if container is not None else st
    arrow: Literal["up", "down", "off"] = (
        "off" if change is None or change == 0 else ("up" if change > 0 else "down")
    )
    target.metric(
        label,
        value,
        delta=delta,
        delta_color=direction_color(better),
        help=help,
        border=True,
        delta_arrow=arrow,
        height=height,
    )


#: Vega-Lite specs of the screen's charts by the fingerprint of their builder's inputs
#: (``story.model.chart_fingerprint``), for every session of this server process. Building an
#: Altair chart and ``st.altair_chart``'s conversion of it (a deep copy and a JSON-schema
#: validation of the whole spec) cost 0.1-0.3 s a chart on every run: the Contract page's
#: three charts were 0.84 s of a 1.3 s run with every figure cached. A builder is a pure
#: function of its inputs, so equal inputs give the same spec. Bounded: the oldest goes first.
_SPECS: dict[str, VegaLiteSpec] = {}
_SPECS_MAX = 256
#: Altair's theme and data transformer are process-wide: one conversion at a time, under
#: the lock ``st.altair_chart`` takes for the same globals (pages that still call it directly
#: would otherwise switch the transformer in the middle of a conversion here).
try:
    from streamlit.elements.vega_charts import _altair_globals_lock as _ALTAIR
except ImportError:  # a Streamlit without it: at least our own conversions are serialised
    _ALTAIR = threading.Lock()


def vega_lite_spec(chart: Any) -> VegaLiteSpec:
    """The spec ``st.altair_chart(chart, theme=None)`` sends — the chart's frames as Arrow IPC
    bytes named by a hash of the bytes, with Altair's default theme off — without Altair's
    validation of the spec (as the story's specs, ``story.model._spec``; every chart
    builder's spec is validated against the Vega-Lite schema once, in
    ``tests/reports/test_chart_specs.py``)."""
    import altair as alt

    datasets: dict[str, bytes] = {}

    def to_arrow(data: Any) -> dict[str, str]:
        raw = convert_anything_to_arrow_bytes(data)
        name = calc_hash(raw)  # Streamlit's own name for it
        datasets[name] = raw
        return {"name": name}

    with _ALTAIR:
        alt.data_transformers.register("tn_arrow", to_arrow)
        theme = alt.theme.enable("none") if alt.theme.active == "default" else nullcontext()
        with theme, alt.data_transformers.enable("tn_arrow"):
            spec: VegaLiteSpec = chart.to_dict(validate=False)
    given = spec.get("datasets")
    spec["datasets"] = {**given, **datasets} if isinstance(given, dict) else datasets
    return spec


def _memo(
    store: dict[str, Any],
    limit: int,
    builder: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    make: Callable[[Any], Any],
) -> Any:
    fp = chart_fingerprint(builder, args, kwargs)
    got = store.get(fp) if fp is not None else None
    if got is None:
        got = make(builder(*args, **kwargs))
        if fp is not None:
            while len(store) >= limit:
                store.pop(next(iter(store)), None)
            store[fp] = got
    return got


def _spec(
    builder: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> VegaLiteSpec:
    spec: VegaLiteSpec = _memo(_SPECS, _SPECS_MAX, builder, args, kwargs, vega_lite_spec)
    return spec


def altair(
    builder: Callable[..., Any],
    /,
    *args: Any,
    key: str | None = None,
    width: Literal["stretch", "content"] | int | None = "stretch",
    theme: Literal["streamlit"] | None = None,
    on_select: Literal["rerun", "ignore"] = "ignore",
    **kwargs: Any,
) -> Any:
    """Render ``builder(*args, **kwargs)`` (a ``charts/`` function returning an Altair chart)
    as ``st.altair_chart(chart, width=…, theme=…, on_select=…, key=…)`` would, exactly as the
    PDF prints it by default (our theme, not Streamlit's); the spec is built once per
    distinct input (``_SPECS``). Streamlit copies the spec before it changes it. Returns what
    ``st.vega_lite_chart`` returns (the selection state with ``on_select="rerun"``)."""
    return st.vega_lite_chart(
        _spec(builder, args, kwargs), theme=theme, width=width, key=key, on_select=on_select
    )
