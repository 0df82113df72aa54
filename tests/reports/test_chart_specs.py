"""The story's Vega-Lite specs are made without Altair's schema validation (``to_dict(
validate=False)`` in ``story.model``: it was most of a spec's CPU, paid again for every
account a pack run builds). This validates every chart spec of the demo story against the
Vega-Lite schema once, so a builder that makes an invalid spec still fails a test."""

from __future__ import annotations

import json

from altair.utils.schemapi import validate_jsonschema
from altair.vegalite.v6.schema.core import load_schema


def test_every_chart_spec_of_the_demo_story_is_valid_vega_lite(demo_story) -> None:
    schema = load_schema()
    charts = [c for s in demo_story.sections for c in s.charts]
    assert len(charts) >= 4
    for c in charts:
        spec = json.loads(c.spec)
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        assert validate_jsonschema(spec, schema, raise_error=False) is None, c.key
