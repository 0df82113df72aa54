"""Every check of an import, without a database: file · row · column · message, all at once.

The database side is stood in for by ``Known`` holding the small valid account of
tests/data/import_valid (units Lisbon · Claims intake, Lisbon · Billing support,
Manila · Claims intake; KPIs aht, cost_per_txn (rates) and fte (a level); INN-001…004).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from data_loaders import parsing
from data_loaders.importer import read_files
from data_loaders.validation import Known, Problem, ProblemSink, validate

from .loader_helpers import ACCOUNT, csv_file, valid_files

A = ACCOUNT
UNITS = {
    (A, "Lisbon", "Claims intake"),
    (A, "Lisbon", "Billing support"),
    (A, "Manila", "Claims intake"),
}


def known(**over: object) -> Known:
    units = {(s, p) for _, s, p in UNITS}
    k = Known(
        accounts={A: (dt.date(2024, 1, 1), dt.date(2024, 3, 31))},
        units=set(UNITS),
        kpis={(A, "aht"): "rate", (A, "cost_per_txn"): "rate", (A, "fte"): "level"},
        innovations={(A, f"INN-00{i}") for i in range(1, 5)},
        observed=lambda _name, _s, _e: (set(units), set(units)),
    )
    for key, value in over.items():
        setattr(k, key, value)
    return k


def check(*files: tuple[str, str], k: Known | None = None) -> list[Problem]:
    read = read_files([csv_file(n, t) for n, t in files])
    sink = ProblemSink()
    for i in read.issues:
        sink.add(i.label, i.row, i.column, i.message)
    validate(read.tables, k or known(), sink)
    return list(sink.problems())


def one(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


ROLLOUT_HEADER = "account,innovation,site,process,go_live\n"
OBS_HEADER = "account,site,process,kpi,period,value,volume\n"


def test_valid_set_passes_on_an_empty_database() -> None:
    """The full valid set checks clean against an empty database (it references itself)."""
    read = read_files(valid_files())
    sink = ProblemSink()
    validate(read.tables, Known(), sink)
    assert list(sink.problems()) == []


def test_problem_reads_as_file_row_column_message() -> None:
    """str(Problem) is 'file · row 12 · column go_live · message'."""
    assert str(Problem("r.csv", 12, "go_live", "bad")) == "r.csv · row 12 · column go_live · bad"
    assert str(Problem("r.csv", None, None, "bad")) == "r.csv · bad"


def test_missing_required_columns_are_named_with_the_expected_list() -> None:
    """Missing required columns: one problem naming them and listing what the file needs."""
    p = one(check(("rollouts.csv", "account,innovation,site\nAcme Claims,INN-001,Lisbon\n")))
    assert (p.file, p.row, p.column) == ("rollouts.csv", 1, "process, go_live")
    assert "missing required columns process, go_live" in p.message
    assert "account, innovation, site, process, go_live" in p.message


def test_the_article_fits_the_entity() -> None:
    """'an innovations file', 'an events file', 'a units file' (issue #10 item 12)."""
    p = one(check(("innovations.csv", "account,code\nAcme Claims,INN-009\n")))
    assert "; an innovations file needs the columns" in p.message
    p = one(check(("units.csv", "account,site\nAcme Claims,Porto\n")))
    assert "; a units file needs the columns" in p.message


def test_unknown_extra_columns_are_ignored() -> None:
    """A column the format does not know is ignored without a word."""
    assert (
        check(
            (
                "rollouts.csv",
                "account,innovation,site,process,go_live,comment\n"
                f"{A},INN-001,Lisbon,Claims intake,2024-04-10,hello\n",
            )
        )
        == []
    )


def test_a_column_given_twice() -> None:
    """The same format column twice (after normalisation) is refused, naming the positions."""
    p = one(
        check(
            (
                "rollouts.csv",
                "account,innovation,site,process,go_live,Go Live\n"
                f"{A},INN-001,Lisbon,Claims intake,2024-04-10,2024-04-11\n",
            )
        )
    )
    assert (p.row, p.column) == (1, "go_live")
    assert "appears 2 times (columns 5, 6)" in p.message


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("value", "abc", "'abc' is not a number"),
        ("value", "12%", "without the % sign"),
        ("period", "yesterday", "is not a date or a month"),
        ("period", "2024-03-05 10:00", "time of day"),
        ("volume", "0", "must be greater than 0 (got 0)"),
        ("volume", "-5", "must be greater than 0 (got -5)"),
    ],
)
def test_bad_cells_in_observations(column: str, value: str, fragment: str) -> None:
    """Numbers, dates and volumes: the cell's row and column, and what is wrong."""
    row = {
        "account": A,
        "site": "Lisbon",
        "process": "Claims intake",
        "kpi": "aht",
        "period": "2024-03",
        "value": "12",
        "volume": "100",
    }
    row[column] = value
    p = one(check(("observations.csv", OBS_HEADER + ",".join(row.values()) + "\n")))
    assert (p.file, p.row, p.column) == ("observations.csv", 2, column)
    assert fragment in p.message


def _innovation(**over: str) -> str:
    row = {
        "account": A,
        "code": "INN-009",
        "title": "T",
        "category": "operational efficiency",
        "scale": "transformative",
        "origin": "client",
        "stage": "idea",
        "idea_date": "2024-01-10",
        "pilot_date": "",
        "scaled_date": "",
        "gain_share_eligible": "yes",
        "estimated_annual_value": "10",
    }
    row.update(over)
    return ",".join(row) + "\n" + ",".join(row.values()) + "\n"


def test_allowed_values_match_ignoring_case_spaces_and_dashes() -> None:
    """'Operational Efficiency', ' TRANSFORMATIVE ', 'Client' are fine."""
    assert (
        check(
            (
                "innovations.csv",
                _innovation(
                    category="Operational Efficiency", scale=" TRANSFORMATIVE ", origin="Client"
                ),
            )
        )
        == []
    )


def test_a_value_outside_the_allowed_list_lists_the_choices() -> None:
    """A wrong choice names the column and every allowed value."""
    p = one(check(("innovations.csv", _innovation(category="efficiency"))))
    assert (p.row, p.column) == (2, "category")
    assert (
        "'efficiency' is not an allowed category: use one of operational efficiency, "
        "process effectiveness, strategic impact"
    ) in p.message


def test_bad_boolean_and_negative_amount() -> None:
    """Booleans must be true/false/yes/no/1/0; amounts must not be negative."""
    probs = check(
        ("innovations.csv", _innovation(gain_share_eligible="perhaps", estimated_annual_value="-1"))
    )
    assert [(p.row, p.column) for p in probs] == [
        (2, "estimated_annual_value"),
        (2, "gain_share_eligible"),
    ] or {(p.row, p.column) for p in probs} == {
        (2, "estimated_annual_value"),
        (2, "gain_share_eligible"),
    }
    assert any("must not be negative (got -1)" in p.message for p in probs)
    assert any("is not true or false" in p.message for p in probs)


def test_stage_dates_before_the_idea_and_pilot_without_date() -> None:
    """Stage dates may not precede the idea; pilot/scaled need a pilot_date."""
    probs = check(("innovations.csv", _innovation(stage="scaled", scaled_date="2023-12-01")))
    got = {(p.row, p.column): p.message for p in probs}
    assert "scaled_date 2023-12-01 is before the idea_date 2024-01-10" in got[(2, "scaled_date")]
    assert "stage scaled needs a pilot_date" in got[(2, "pilot_date")]


def test_target_kpi_and_expected_effect_come_together() -> None:
    """A target KPI without an expected effect (or the reverse) is refused."""
    p = one(check(("innovations.csv", _innovation(target_kpi="aht"))))
    assert (p.row, p.column) == (2, "expected_effect_pct")
    p = one(check(("innovations.csv", _innovation(expected_effect_pct="-5"))))
    assert p.column == "target_kpi"


def test_account_date_order() -> None:
    """baseline_end ≥ baseline_start and contract_end > contract_start."""
    text = (
        "name,currency,contract_start,contract_end,baseline_start,baseline_end\n"
        "Beta,EUR,2024-01-01,2024-01-01,2024-03-01,2024-02-01\n"
    )
    probs = check(("accounts.csv", text))
    got = {(p.row, p.column): p.message for p in probs}
    assert "the contract must end after it starts" in got[(2, "contract_end")]
    assert "baseline window ends before it starts" in got[(2, "baseline_end")]


def test_currency_must_be_a_code() -> None:
    """A currency is three letters (upper-cased)."""
    text = (
        "name,currency,contract_start,contract_end,baseline_start,baseline_end\n"
        "Beta,Euro,2024-01-01,2025-01-01,2024-01-01,2024-02-01\n"
    )
    p = one(check(("accounts.csv", text)))
    assert (p.row, p.column) == (2, "currency") and "three letters" in p.message


def test_required_cell_left_empty() -> None:
    """An empty required cell names its row and column."""
    p = one(check(("rollouts.csv", ROLLOUT_HEADER + f"{A},INN-001,Lisbon,Claims intake,\n")))
    assert (p.row, p.column, p.message) == (2, "go_live", "is required but empty")


def test_duplicate_keys_name_both_rows() -> None:
    """The same natural key twice in a file: the later row names the earlier one."""
    text = ROLLOUT_HEADER + "".join(
        f"{A},INN-001,Lisbon,Claims intake,2024-04-{d}\n" for d in (10, 11)
    )
    p = one(check(("rollouts.csv", text)))
    assert (p.row, p.column) == (3, "account, innovation, site, process")
    assert p.message.startswith("duplicate of row 2: same account, innovation, site, process")


def test_duplicate_keys_across_two_files() -> None:
    """Two files of one entity may not both hold a key; the message names the other file."""
    line = f"{A},INN-001,Lisbon,Claims intake,2024-04-10\n"
    p = one(
        check(("rollouts_a.csv", ROLLOUT_HEADER + line), ("rollouts_b.csv", ROLLOUT_HEADER + line))
    )
    assert p.file == "rollouts_b.csv" and "duplicate of rollouts_a.csv row 2" in p.message


def test_duplicate_periods_in_two_spellings() -> None:
    """2024-03 and 03/2024 are the same period, hence a duplicate key."""
    text = (
        OBS_HEADER
        + f"{A},Lisbon,Claims intake,aht,2024-03,1,5\n{A},Lisbon,Claims intake,aht,03/2024,1,5\n"
    )
    assert "duplicate of row 2" in one(check(("observations.csv", text))).message


def test_unknown_innovation_and_unit_in_rollouts() -> None:
    """References must exist in the database or in this import; close names are suggested."""
    text = (
        ROLLOUT_HEADER
        + f"{A},INN-01,Lisbon,Claims intake,2024-04-10\n{A},INN-001,Lisbn,Claims intake,2024-04-10\n"
    )
    probs = check(("rollouts.csv", text))
    got = {(p.row, p.column): p.message for p in probs}
    assert got[(2, "innovation")].startswith(
        "unknown innovation INN-01 (account Acme Claims): "
        "it is neither in the database nor in this import"
    )
    assert "did you mean INN-001?" in got[(2, "innovation")]
    assert "unknown unit Lisbn · Claims intake" in got[(3, "site")]
    assert "did you mean Lisbon · Claims intake?" in got[(3, "site")]


def test_references_to_rows_in_the_same_import() -> None:
    """A rollout may name an innovation and a unit that arrive in another file of the import."""
    k = known(innovations=set(), units=set())
    probs = check(
        ("units.csv", f"account,site,process\n{A},Porto,Claims\n"),
        ("innovations.csv", _innovation(code="INN-050")),
        ("rollouts.csv", ROLLOUT_HEADER + f"{A},INN-050,Porto,Claims,2024-04-10\n"),
        k=k,
    )
    assert probs == []


def test_unknown_account_is_reported_once_per_value() -> None:
    """An unknown account is one problem (with the row count), not one per row and column."""
    text = OBS_HEADER + "".join(
        f"Acme,Lisbon,Claims intake,aht,2024-0{m},1,5\n" for m in range(1, 4)
    )
    p = one(check(("observations.csv", text)))
    assert (p.row, p.column) == (2, "account")
    assert "unknown account Acme" in p.message and "(and 2 more rows)" in p.message
    assert "known: Acme Claims" in p.message


def test_unknown_kpi_in_observations() -> None:
    """An observation of a KPI the account does not define is refused."""
    p = one(
        check(("observations.csv", OBS_HEADER + f"{A},Lisbon,Claims intake,csat,2024-03,1,5\n"))
    )
    assert (p.row, p.column) == (2, "kpi") and "unknown KPI csat" in p.message


def test_rate_kpi_needs_a_volume() -> None:
    """Rate-KPI observations without a volume are refused; level KPIs (fte) do without."""
    text = (
        OBS_HEADER
        + f"{A},Lisbon,Claims intake,aht,2024-03,1,\n{A},Lisbon,Claims intake,fte,2024-03,1,\n"
    )
    p = one(check(("observations.csv", text)))
    assert (p.row, p.column) == (2, "volume") and "aht is a rate KPI" in p.message
    no_col = "account,site,process,kpi,period,value\n" + f"{A},Lisbon,Claims intake,aht,2024-03,1\n"
    p = one(check(("observations.csv", no_col)))
    assert p.column == "volume" and "the volume column is missing" in p.message


def test_grain_must_fit_the_period() -> None:
    """grain day with a month period, or grain month with a mid-month day, is refused."""
    text = (
        "account,site,process,kpi,period,value,volume,grain\n"
        f"{A},Lisbon,Claims intake,aht,2024-03,1,5,day\n"
        f"{A},Lisbon,Claims intake,aht,2024-04-15,1,5,month\n"
    )
    got = {(p.row, p.column): p.message for p in check(("observations.csv", text))}
    assert "period 2024-03 is a month" in got[(2, "grain")]
    assert "write the month as 2024-04" in got[(3, "period")]


def test_baseline_window_without_data() -> None:
    """A unit with observations but none in its account's baseline window (a new site) is
    not refused: it is named in a warning saying it is not measured against the baseline."""
    k = known(units=UNITS | {(A, "Porto", "Claims")})
    text = OBS_HEADER + f"{A},Porto,Claims,aht,2024-05,1,5\n"
    read = read_files([csv_file("observations.csv", text)])
    sink = ProblemSink()
    validate(read.tables, k, sink)
    assert not sink.problems()
    (w,) = sink.warnings()
    assert (w.file, w.row, w.column) == ("observations.csv", None, None)
    assert w.message.startswith(
        "account Acme Claims: unit Porto · Claims has no observations in the account's "
        "baseline window 2024-01-01…2024-03-31: it is imported and shown as not measured"
    )


def test_baseline_window_checked_when_an_account_moves_it() -> None:
    """Moving the baseline window (accounts file only) to months no unit has data for is
    refused: that is a wrong window, not a new site."""
    units = {(s, p) for _, s, p in UNITS}
    k = known(observed=lambda _n, s, _e: (units, set() if s.year == 2025 else units))
    text = (
        "name,currency,contract_start,contract_end,baseline_start,baseline_end\n"
        f"{A},EUR,2024-01-01,2026-12-31,2025-01-01,2025-03-31\n"
    )
    p = one(check(("accounts.csv", text), k=k))
    assert "no unit has observations in the baseline window 2025-01-01…2025-03-31" in p.message


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        (["05/03/2024", "04/01/2024"], "ambiguous date 05/03/2024: write dates as YYYY-MM-DD"),
        (["05/03/2024", "03/25/2024"], "month/day/year (US order) in this column"),
    ],
)
def test_ambiguous_and_us_dates(values: list[str], fragment: str) -> None:
    """Day/month order is decided per column; undecidable or US-ordered columns are refused."""
    text = ROLLOUT_HEADER + "".join(
        f"{A},INN-00{i + 1},Lisbon,Claims intake,{v}\n" for i, v in enumerate(values)
    )
    probs = check(("rollouts.csv", text))
    assert probs and all(p.column == "go_live" for p in probs)
    assert fragment in probs[0].message and probs[0].row == 2


def test_day_first_column_is_accepted_when_one_day_exceeds_12() -> None:
    """05/03/2024 is read as 5 March because 13/03/2024 elsewhere in the column decides it."""
    text = (
        ROLLOUT_HEADER
        + f"{A},INN-001,Lisbon,Claims intake,05/03/2024\n{A},INN-002,Lisbon,Claims intake,13/03/2024\n"
    )
    assert check(("rollouts.csv", text)) == []


def test_mixed_decimal_separators_in_a_column() -> None:
    """A column that uses 3,5 and 3.25 is refused as a whole."""
    text = (
        OBS_HEADER
        + f'{A},Lisbon,Claims intake,aht,2024-03,"3,5",5\n{A},Lisbon,Claims intake,aht,2024-04,3.25,5\n'
    )
    p = one(check(("observations.csv", text)))
    assert (p.row, p.column) == (2, "value")
    assert "mixes decimal commas (row 2: '3,5') and decimal points (row 3: '3.25')" in p.message


def test_mixed_decimals_do_not_hide_the_columns_row_errors() -> None:
    """A column mixing 3,5 and 3.25 is refused, and its row with 'x' is still named."""
    text = OBS_HEADER + "".join(
        f'{A},Lisbon,Claims intake,aht,2024-0{m},"{v}",5\n'
        for m, v in ((1, "3,5"), (2, "3.25"), (3, "x"))
    )
    probs = check(("observations.csv", text))
    assert [(p.row, p.column) for p in probs] == [(2, "value"), (4, "value")]
    assert "'x' is not a number" in probs[1].message


def test_innovation_target_conflict() -> None:
    """innovations.target_kpi and innovation_targets must agree on the same KPI's effect."""
    probs = check(
        ("innovations.csv", _innovation(target_kpi="aht", expected_effect_pct="-5")),
        (
            "innovation_targets.csv",
            f"account,innovation,kpi,expected_effect_pct\n{A},INN-009,aht,-4\n",
        ),
    )
    p = one(probs)
    assert (p.file, p.row, p.column) == ("innovation_targets.csv", 2, "expected_effect_pct")
    assert "innovations.csv row 2" in p.message


def test_unknown_file_lists_accepted_names() -> None:
    """A file that is neither named after an entity nor shaped like one says what is accepted."""
    p = one(check(("export.csv", "foo,bar\n1,2\n")))
    assert p.file == "export.csv" and "cannot tell which kind of data" in p.message
    assert "observations (kpi_observations" in p.message


def test_file_detected_by_header_when_the_name_says_nothing() -> None:
    """export.csv with a rollouts header is read as rollouts."""
    assert (
        check(("export.csv", ROLLOUT_HEADER + f"{A},INN-001,Lisbon,Claims intake,2024-04-10\n"))
        == []
    )


def test_problems_are_capped_per_file() -> None:
    """At most 200 problems per file, then '… and N more problems in this file'."""
    text = OBS_HEADER + "".join(
        f"{A},Lisbon,Claims intake,aht,2024-{1 + i % 12:02d}-{1 + i // 12:02d},x,5\n"
        for i in range(300)
    )
    probs = check(("observations.csv", text))
    assert len(probs) == 201
    assert probs[-1].message == "… and 100 more problems in this file"
    assert [p.row for p in probs[:3]] == [2, 3, 4]


def test_text_too_long_for_its_column() -> None:
    """Text longer than the database column allows is refused (PostgreSQL would fail)."""
    p = one(check(("innovations.csv", _innovation(code="X" * 41))))
    assert p.column == "code" and "41 characters long; at most 40" in p.message
    p = one(check(("innovations.csv", _innovation(title="T" * 301))))
    assert p.column == "title" and "301 characters long; at most 300" in p.message
    assert check(("innovations.csv", _innovation(title="T" * 300))) == []  # README's limit


def test_typed_frames_are_checked_too() -> None:
    """Frames (the demo/SQL path) go through the same checks, rows counted from 1."""
    df = pd.DataFrame(
        {
            "account": [A, A],
            "innovation": ["INN-001", "INN-002"],
            "site": ["Lisbon", "Lisbon"],
            "process": ["Claims intake"] * 2,
            "go_live": [dt.date(2024, 4, 10), "not a date"],
        }
    )
    sink = ProblemSink()
    validate([parsing.frame_to_table("rollouts", df, "rollouts", "frames")], known(), sink)
    p = one(list(sink.problems()))
    assert (p.file, p.row, p.column) == ("rollouts", 2, "go_live")
