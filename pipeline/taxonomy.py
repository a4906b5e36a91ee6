"""The six problem categories of the 2021 campaign and the guide's cue words.

Category names are written exactly as in the labeling guide (``../shared/labeling-guide.md``).
"""

from __future__ import annotations

#: The categories, in the guide's order (the order of every label list and score column).
CATEGORIES: tuple[str, ...] = ("宗旨不牢", "作风不优", "本领不强", "担当不力", "执法不廉", "职责不明")

#: What each category covers, for reports and the model card.
DESCRIPTIONS: dict[str, str] = {
    "宗旨不牢": "weak commitment to serving the people: profit-driven enforcement, fines as revenue",
    "作风不优": "poor conduct and work style: rough or uncivil enforcement, formalism, lax discipline",
    "本领不强": "weak competence: procedure or standards broken, poor case files; skill training",
    "担当不力": "lack of responsibility: inaction, shirking, complaints left unhandled",
    "执法不廉": "corruption: benefits taken, favour-based enforcement, paid release",
    "职责不明": "unclear mandates: overlapping duties, repeated inspection, no lawful basis",
}

#: :data:`DESCRIPTIONS` in Chinese, one line each, for labelers (the review workbook's guide sheet).
DESCRIPTIONS_ZH: dict[str, str] = {
    "宗旨不牢": "为人民服务宗旨意识不牢：逐利执法，把罚款当作创收手段",
    "作风不优": "工作作风不优：粗暴执法、态度生硬，形式主义，纪律松弛",
    "本领不强": "执法本领不强：违反程序或标准、案卷质量差；业务培训与练兵",
    "担当不力": "责任担当不力：不作为、慢作为，推诿扯皮，投诉处置不及时",
    "执法不廉": "执法不廉洁：收受财物好处，人情执法、关系执法，收费放行",
    "职责不明": "职责不明确：职责交叉、多头执法、重复检查，执法无法定依据",
}

#: The guide's typical cues per category: the cue-word baseline the model must beat.
CUES: dict[str, tuple[str, ...]] = {
    "宗旨不牢": (
        "宗旨不牢",
        "逐利执法",
        "罚款指标",
        "以罚代管",
        "以罚增收",
        "乱罚款",
        "乱收费",
        "为人民服务意识不强",
        "群众观念淡薄",
        "漠视货车司机权益",
    ),
    "作风不优": (
        "作风不优",
        "粗暴执法",
        "简单执法",
        "态度生硬",
        "冷横硬推",
        "门难进",
        "脸难看",
        "风纪",
        "着装不规范",
        "脱岗",
        "形式主义",
        "官僚主义",
    ),
    "本领不强": (
        "本领不强",
        "执法不规范",
        "程序不当",
        "文书不规范",
        "证据不足",
        "同案不同罚",
        "过罚失当",
        "业务能力不足",
        "大练兵",
        "能力提升培训",
        "执法考试",
    ),
    "担当不力": (
        "担当不力",
        "不作为",
        "慢作为",
        "不敢依法履职",
        "不敢碰硬",
        "推诿扯皮",
        "敷衍塞责",
        "投诉处置不及时",
        "一事一办",
        "首接负责制",
        "打击非法营运不力",
    ),
    "执法不廉": (
        "执法不廉",
        "吃拿卡要",
        "收受财物",
        "人情执法",
        "关系执法",
        "收费放行",
        "保护伞",
        "以权谋私",
        "罚款不开票",
        "截留罚没款",
        "廉政",
    ),
    "职责不明": (
        "职责不明",
        "职责交叉",
        "边界不清",
        "多头执法",
        "重复检查",
        "权责清单",
        "执法主体",
        "不合法规规章清理",
        "统一标准",
    ),
}

#: How an empty label set is written where a string is needed.
NONE_LABEL = "无"
#: Separator of labels inside one CSV/XLSX cell.
LABEL_SEP = "、"


def cue_baseline(text: str) -> list[str]:
    """The guide's cue words as a classifier: a category whenever one of its cues occurs.

    Args:
        text: a passage.

    Returns:
        Categories in canonical order.
    """
    return [c for c in CATEGORIES if any(cue in text for cue in CUES[c])]


def cue_terms(text: str) -> list[str]:
    """Cue features of a passage: each cue word found, and its category's tag.

    A module-level function (picklable), used as the analyzer of the model's cue branch:
    ``CUE:作风不优`` fires for any of that category's cues, so the guide's knowledge
    carries over to wordings the training passages never used.

    Args:
        text: a passage.

    Returns:
        Cue words found and ``CUE:<category>`` tags, one per cue occurrence kind.
    """
    out: list[str] = []
    for c in CATEGORIES:
        found = [cue for cue in CUES[c] if cue in text]
        if found:
            out += found + [f"CUE:{c}"]
    return out


#: Columns of a prediction frame, in order: what ``predict`` returns for each passage.
PREDICTION_COLUMNS = ("labels", "scores", "evidence", "model_version")
