"""One computation per pass: inside ``one_pass()`` a function marked ``@reused`` returns the
result it already computed for the same arguments in that pass.

Why: one story (``story.build_story``) asks for the same intermediates many times — the live
months of the rollouts six times, the claimed value and the measured benefit twice or more —
from functions that each stay callable on their own. Passing every intermediate down by
hand would change a dozen signatures; a pass-scoped memo keeps them as they are. Outside a
pass nothing is remembered, so a page, a test or a second story always computes afresh.

Arguments are matched by value when they are hashable (filters, dates, strings) and by
identity otherwise (frames, ``AccountData``): within one pass the data is not changed, and
the entry holds its arguments so no identity is reused. A caller gets a copy of a frame
(lazy under pandas' copy-on-write), so changing it never changes what the next caller gets.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

import pandas as pd

__all__ = ["one_pass", "reused"]

F = TypeVar("F", bound=Callable[..., Any])

_PASS: ContextVar[dict[tuple[Any, ...], tuple[Any, tuple[Any, ...]]] | None] = ContextVar(
    "metrics_reuse_pass", default=None
)


@contextmanager
def one_pass() -> Iterator[None]:
    """Remember ``@reused`` results until the block ends (nested passes share the outer)."""
    if _PASS.get() is not None:
        yield
        return
    token = _PASS.set({})
    try:
        yield
    finally:
        _PASS.reset(token)


def _key(v: Any) -> Any:
    if isinstance(v, pd.DataFrame | pd.Series | pd.Index):
        return ("id", id(v))
    try:
        hash(v)
    except TypeError:
        return ("id", id(v))
    return ("v", type(v).__qualname__, v)


def _fresh(v: Any) -> Any:
    return v.copy() if isinstance(v, pd.DataFrame | pd.Series) else v


def reused(fn: F) -> F:
    """Mark a pure function of its arguments as reusable within ``one_pass()``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        memo = _PASS.get()
        if memo is None:
            return fn(*args, **kwargs)
        key = (
            fn.__module__,
            fn.__qualname__,
            tuple(_key(a) for a in args),
            tuple(sorted((k, _key(v)) for k, v in kwargs.items())),
        )
        hit = memo.get(key)
        if hit is None:
            hit = (fn(*args, **kwargs), (*args, *kwargs.values()))  # keep the inputs alive
            memo[key] = hit
        return _fresh(hit[0])

    return cast(F, wrapper)
