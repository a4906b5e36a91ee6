"""Counts: grouping, filters, formats (golden), agreement with the issue list, import budget."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers.golden import golden
from helpers.storekit import EXPECTED_BY_CATEGORY, CueModel, classified_store, cue_predict, write_archive
from pipeline.batch import classify
from pipeline.cli import store_commands as cli_store
from pipeline.cli.main import main
from pipeline.errors import UsageError
from pipeline.reports.exports import write_counts
from pipeline.reports.queries import BY_FIELDS, counts, issues, parse_bound

GOLDEN = Path(__file__).parent / "data" / "golden"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return classified_store(tmp_path_factory.mktemp("report"))


def test_report_counts_by_category(db):
    table = counts(db)
    assert list(table.columns) == ["category", "count", "passages"]
    assert dict(zip(table["category"], table["count"])) == EXPECTED_BY_CATEGORY
    # Canonical category order, not alphabetical.
    assert list(table["category"]) == ["作风不优", "本领不强", "担当不力", "执法不廉", "职责不明"]


def test_report_counts_two_categories_count_once_in_each(db):
    table = counts(db, by=["month"])
    assert table.to_dict("records") == [
        {"month": "2021-06", "count": 5, "passages": 5},
        {"month": "2021-07", "count": 3, "passages": 2},
    ]


def test_report_counts_answer_the_office_question(db):
    """How many 作风不优 problems did Nanchong report in June?"""
    table = counts(db, by=["region"], category="作风不优", since="2021-06", until="2021-06")
    assert table.to_dict("records") == [{"region": "南充市", "count": 1, "passages": 1}]
    assert counts(db, by=["region"], category="作风不优", region="绵阳市").empty


@pytest.mark.parametrize(
    "since,until,expected",
    [
        ("2021-06-09", None, 7),
        (None, "2021-06-15", 3),
        ("2021-06-16", "2021-06-17", 2),
        ("2021", "2021", 8),
        ("2021-07-03", None, 0),
    ],
)
def test_report_counts_date_filters_inclusive(db, since, until, expected):
    assert int(counts(db, since=since, until=until)["count"].sum()) == expected


def test_report_date_bounds_parsed():
    assert parse_bound("2021-06") == "2021-06-01"
    assert parse_bound("2021-06", end=True) == "2021-06-30"
    assert parse_bound("2020-2", end=True) == "2020-02-29"
    assert parse_bound("2021", end=True) == "2021-12-31"
    for bad in ("June", "2021-13", "2021-02-30", "21-06-01"):
        with pytest.raises(UsageError, match="expected a date as YYYY, YYYY-MM or YYYY-MM-DD"):
            parse_bound(bad)


def test_report_counts_bad_options_refused(db, capsys):
    with pytest.raises(UsageError, match="expected a category among 宗旨不牢、作风不优"):
        counts(db, category="作风不好")
    with pytest.raises(UsageError, match="expected --by among category, unit"):
        counts(db, by=["county"])
    assert main(["counts", "--db", str(db), "--since", "2021-07", "--until", "2021-06"]) == 1
    assert "--since 2021-07 is after --until 2021-06" in capsys.readouterr().err


def test_report_by_fields_match_the_cli():
    assert cli_store._BY_FIELDS == BY_FIELDS


@pytest.mark.parametrize(
    "by",
    [
        ["category"],
        ["region", "category"],
        ["unit", "category"],
        ["month", "category"],
        ["bulletin", "category"],
        ["category", "region", "month"],
    ],
)
@pytest.mark.parametrize(
    "filters", [{}, {"since": "2021-06-09", "until": "2021-07-01"}, {"category": "执法不廉"}, {"region": "南充市"}]
)
def test_report_counts_agree_with_issues(db, by, filters):
    table = counts(db, by=by, **filters)
    listed = issues(db, **filters)
    listed["month"] = [d[:7] if d else "" for d in listed["date"]]  # the issue list shows the date
    assert int(table["count"].sum()) == len(listed)
    from_issues = listed.groupby(by).size().to_dict()
    from_counts = {tuple(r[b] for b in by) if len(by) > 1 else r[by[0]]: r["count"] for r in table.to_dict("records")}
    assert from_counts == from_issues
    distinct = listed.groupby(by)["passage_id"].nunique().to_dict()
    assert dict(distinct) == {
        (tuple(r[b] for b in by) if len(by) > 1 else r[by[0]]): r["passages"] for r in table.to_dict("records")
    }


def test_report_counts_formats_golden(db):
    for fmt, by, suffix in (
        ("table", ["category"], "txt"),
        ("csv", ["region", "category"], "csv"),
        ("json", ["month", "category"], "json"),
    ):
        out = io.StringIO()
        write_counts(counts(db, by=by), fmt, out)
        assert out.getvalue() == golden(f"counts-{'-'.join(by)}.{suffix}", out.getvalue())


def test_report_counts_cli_json_is_a_list_of_records(db, capsys):
    assert main(["counts", "--db", str(db), "--by", "region", "category", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0] == {"region": "南充市", "category": "作风不优", "count": 2, "passages": 2}
    assert all(set(r) == {"region", "category", "count", "passages"} for r in rows)
    assert main(["counts", "--db", str(db), "--category", "宗旨不牢"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "category  count  passages\n"
    assert "no classified passage matches" in captured.err


def test_report_queries_never_import_sklearn(db, tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from pipeline.cli.main import main
        db = {str(db)!r}
        assert main(["counts", "--db", db, "--by", "region"]) == 0
        assert main(["issues", "--db", db, "--output", {str(tmp_path / "i.xlsx")!r}]) == 0
        main(["chart", "--db", db, "--output", {str(tmp_path / "c.png")!r}])  # 1 without a CJK font
        print(sorted(m for m in ("sklearn", "scipy", "jieba") if m in sys.modules), file=sys.stderr)
    """)
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    assert err.strip().splitlines()[-1] == "[]"


def test_report_every_filter_combination_agrees(db):
    """Counts and issues select the same rows for any combination of filters."""
    values = {
        "since": [None, "2021-06-10"],
        "until": [None, "2021-07-01"],
        "category": [None, "作风不优"],
        "region": [None, "绵阳市"],
    }
    for combo in itertools.product(*values.values()):
        filters = dict(zip(values, combo))
        assert int(counts(db, **filters)["count"].sum()) == len(issues(db, **filters)), filters


def test_report_mixed_model_versions_are_announced(tmp_path, capsys, caplog):
    write_archive(tmp_path / "a")
    db = tmp_path / "r.db"
    files = sorted((tmp_path / "a").rglob("*.txt"))
    classify(files, db=db, jobs=1, model=CueModel("cues@1"), predict=cue_predict, quiet=True)
    classify(files[:1], db=db, jobs=1, model=CueModel("cues@2"), predict=cue_predict, quiet=True)
    assert main(["counts", "--db", str(db)]) == 0
    assert "the store mixes model versions (cues@1: 2 bulletin(s), cues@2: 1 bulletin(s))" in caplog.text
    caplog.clear()
    assert main(["counts", "--db", str(db), "--model-version", "cues@9"]) == 0
    assert "no predictions by model version cues@9 in the store (versions: cues@1, cues@2)" in caplog.text
    capsys.readouterr()
    assert main(["counts", "--db", str(db), "--model-version", "cues@2", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "category,count,passages\n作风不优,1,1\n执法不廉,1,1\n"
