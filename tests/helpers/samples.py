"""A small generated bulletin with everything real ones break, and its expected passages."""

from __future__ import annotations

#: A long paragraph that must break across a page in the generated PDF.
LONG = (
    "6 月 15 日，绵阳市交通运输综合行政执法支队对辖区 3 个治超站开展明察暗访，发现个别执法人员存在"
    "只罚款不卸载、执法文书填写不规范等问题，支队当即责令整改，并对相关责任人进行约谈。"
) * 13


def sample_spec(**overrides):
    """A small bulletin with everything real ones break: TOC, furniture, spaced digits,
    a paragraph across a page break."""
    from helpers.synth import BulletinSpec

    fields = dict(
        title="绵阳市交通运输执法领域突出问题专项整治行动工作简报",
        issue="2021年第3期",
        issuer=("绵阳市交通运输执法领域突出问题", "专项整治行动领导小组办公室"),
        date="2021年6月20日",
        toc=("一、暗访督查", "★支队开展治超站明察暗访", "二、培训练兵", "★江油市开展执法人员业务考试"),
        sections=(
            ("一、暗访督查", ("6 月 12 日，梓潼县交通运输局召开专项整治推进会，通报前期排查发现的 5 个问题。", LONG)),
            (
                "二、培训练兵",
                (
                    "6 月 18 日至 19 日，江油市交通运输综合行政执法大队组织全体执法人员参加行政执法业务考试，"
                    "考试内容涵盖行政处罚法和执法文书制作。",
                ),
            ),
        ),
        closing=("报：市委、市政府。", "抄送：省交通运输厅。"),
        spaced_digits=False,
    )
    fields.update(overrides)
    return BulletinSpec(**fields)


#: The passages of :func:`sample_spec`, as the pipeline must return them.
SAMPLE_PASSAGES = (
    "6月12日，梓潼县交通运输局召开专项整治推进会，通报前期排查发现的5个问题。",
    LONG.replace(" ", ""),
    "6月18日至19日，江油市交通运输综合行政执法大队组织全体执法人员参加行政执法业务考试，考试内容涵盖行政处罚法和执法文书制作。",
)
