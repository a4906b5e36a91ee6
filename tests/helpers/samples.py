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


def regions_spec(**overrides):
    """A provincial bulletin whose units name places every way real ones do: province + city,
    city + county, autonomous prefectures in full and short, 兵团, anonymous, provincial and
    Ministry bodies, another province's bodies. Its masthead wraps the issuer line and the
    date ("…办公室2021" / "年5月3日"); it has bullets, a sub-headline and closing matter."""
    from helpers.synth import BulletinSpec

    fields = dict(
        title="新疆维吾尔自治区交通运输执法领域突出问题专项整治行动工作简报",
        issue="2021年第6期",
        issuer=("新疆维吾尔自治区交通运输执法领域突出问题专项整治行动领导小组办公室2021",),
        date="年5月3日",
        toc=(
            "★新疆昌吉州交通运输局开展执法案卷评查",
            "★兵团第八师交通运输局开展联合检查",
            "★各地持续推进专项整治",
        ),
        sections=(
            ("一、督查检查", (passage for passage, _ in REGION_PASSAGES[:5])),
            ("二、各地动态", (passage for passage, _ in REGION_PASSAGES[5:])),
        ),
        closing=("报：交通运输部法制司。", "送：自治区党委依法治疆办。"),
    )
    fields["sections"] = tuple((h, tuple(ps)) for h, ps in fields["sections"])
    fields.update(overrides)
    return BulletinSpec(**fields)


#: The passages of :func:`regions_spec` with their (unit, region, event date).
REGION_PASSAGES = (
    (
        "★新疆昌吉州交通运输局开展执法案卷评查，抽查案卷46宗，发现文书填写不规范问题7个。",
        ("新疆昌吉州交通运输局", "昌吉回族自治州", None),
    ),
    (
        "4月28日，兵团第八师交通运输局会同石河子市公安局开展联合检查，查处超限车辆12辆。",
        ("兵团第八师交通运输局", "石河子市", "2021-04-28"),
    ),
    (
        "四月二十九日，伊犁州交通运输综合行政执法支队召开专项整治推进会。",
        ("伊犁州交通运输综合行政执法支队", "伊犁哈萨克自治州", "2021-04-29"),
    ),
    (
        "自治区交通运输厅派出督导组赴博州、克州开展暗访。",
        ("自治区交通运输厅", "省级", None),
    ),
    (
        "本报讯 一名外地货车司机反映在某县治超站等候时间过长，相关部门已介入调查。",
        ("", "", None),
    ),
    (
        "4月30日，新疆乌鲁木齐市米东区交通运输局组织执法人员开展业务培训。",
        ("新疆乌鲁木齐市米东区交通运输局", "乌鲁木齐市", "2021-04-30"),
    ),
    (
        "二〇二一年四月二十日，巴音郭楞蒙古自治州库尔勒市交通运输局开展“我为群众办实事”活动。",
        ("巴音郭楞蒙古自治州库尔勒市交通运输局", "巴音郭楞蒙古自治州", "2021-04-20"),
    ),
    (
        "江西某县交通运输执法大队有关做法在交流会上作了介绍。",
        ("江西某县交通运输执法大队", "", None),
    ),
    (
        "记者日前从甘肃省交通运输厅获悉，两省区将建立跨省执法协作机制。",
        ("甘肃省交通运输厅", "甘肃省", None),
    ),
    (
        "5月1日，交通运输部法制司调研组来疆调研专项整治工作。",
        ("交通运输部法制司", "部级", "2021-05-01"),
    ),
)
