"""Helpers for the store, batch and report tests: a small archive whose passages have
unambiguous categories, and a deterministic stand-in model (the guide's cue words).

The stand-in keeps these tests independent of the trained model, which may be retrained at
any time; the tests that use the real model assert on structure and invariants only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.taxonomy import CATEGORIES, CUES, PREDICTION_COLUMNS, cue_baseline


@dataclass(frozen=True)
class CueModel:
    """A model-like object: ``version`` is all the batch needs besides ``cue_predict``."""

    version: str = "cues@1"


def cue_predict(model: CueModel, texts) -> pd.DataFrame:
    """:func:`pipeline.classify.model.predict`'s output shape, from the guide's cue words."""
    labels = [cue_baseline(t) for t in texts]
    scores = [{c: (0.9 if c in ls else 0.1) for c in CATEGORIES} for ls in labels]
    evidence = [{c: [cue for cue in CUES[c] if cue in t] for c in ls} for t, ls in zip(texts, labels)]
    return pd.DataFrame(
        {"labels": labels, "scores": scores, "evidence": evidence, "model_version": model.version},
        columns=list(PREDICTION_COLUMNS),
    )


#: (city, issue, date, paragraphs): each paragraph's cue categories are stated beside it.
BULLETINS = (
    (
        "南充市",
        1,
        (2021, 6, 20),
        (
            "6月8日，南充市交通运输综合行政执法支队通报1起粗暴执法问题，当事执法人员态度生硬，已停岗培训。",  # 作风不优
            "6月9日，南充市顺庆区交通运输局排查发现个别执法人员收受财物，已移交纪检部门处理。",  # 执法不廉
            "6月10日，南充市交通运输局召开专项整治推进会，部署下一阶段工作。",  # none
        ),
    ),
    (
        "南充市",
        2,
        (2021, 7, 5),
        (
            "7月1日，南充市交通运输综合行政执法支队发现执法人员着装不规范、脱岗等问题，并发现个别人员罚款不开票。",
            # 作风不优, 执法不廉
            "7月2日，阆中市交通运输局组织执法人员参加执法考试，提升业务能力。",  # 本领不强
        ),
    ),
    (
        "绵阳市",
        3,
        (2021, 6, 25),
        (
            "6月15日，绵阳市交通运输综合行政执法支队对治超站开展暗访，发现存在推诿扯皮、投诉处置不及时等问题。",
            # 担当不力
            "6月16日，江油市交通运输局清理权责清单，解决多头执法、重复检查问题。",  # 职责不明
            "6月17日，绵阳市交通运输局开展能力提升培训，重点纠正执法不规范问题。",  # 本领不强
        ),
    ),
)

#: Expected counts per category of :data:`BULLETINS` under :func:`cue_predict`.
EXPECTED_BY_CATEGORY = {"作风不优": 2, "本领不强": 2, "担当不力": 1, "执法不廉": 2, "职责不明": 1}


def bulletin_text(city: str, issue: int, date: tuple[int, int, int], paragraphs) -> str:
    """A plain-text bulletin in the layout the readers expect (blank-line paragraphs)."""
    y, m, d = date
    parts = [
        f"{city}交通运输执法领域突出问题专项整治行动工作简报",
        f"{y}年第{issue}期",
        f"{city}交通运输局",
        f"{y}年{m}月{d}日",
        "一、工作动态",
        *paragraphs,
        "报：市委、市政府。",
    ]
    return "\n\n".join(parts) + "\n"


def write_archive(folder: Path, bulletins=BULLETINS) -> list[Path]:
    """Write :data:`BULLETINS` as text files under ``folder`` (one sub-folder per city)."""
    paths = []
    for city, issue, date, paragraphs in bulletins:
        path = Path(folder) / city / f"{city}-{date[0]}-{issue:02d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(bulletin_text(city, issue, date, paragraphs), encoding="utf-8")
        paths.append(path)
    return paths


def classified_store(folder: Path) -> Path:
    """Write the small archive under ``folder`` and classify it into ``folder/r.db``
    with the cue model (one process): the store the report tests query."""
    from pipeline.batch import classify

    write_archive(folder / "archive")
    classify([folder / "archive"], db=folder / "r.db", jobs=1, model=CueModel(), predict=cue_predict, quiet=True)
    return folder / "r.db"
