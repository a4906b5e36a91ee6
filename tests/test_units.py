"""Reporting units: organisation names as written, never clause fragments."""

from __future__ import annotations

import pytest

from pipeline.text.units import find_unit


@pytest.mark.parametrize(
    "text, unit",
    [
        ("河南省驻马店市确山县交通运输综合行政执法大队开展案卷评查。", "河南省驻马店市确山县交通运输综合行政执法大队"),
        ("本报讯 某区交通运输执法大队近日查处一起非法营运案件。", "某区交通运输执法大队"),
        ("记者昨日从湖北省交通运输厅获悉，全省将开展专项检查。", "湖北省交通运输厅"),
        ("在支队党委的领导下，各大队扎实推进整治。", ""),
        ("全市交通运输执法系统共办理行政处罚案件312件。", ""),
        ("珠海市交通运输部门开展“开门评议”活动。", ""),
        ("本报讯 一名湖北籍货车司机反映在某县治超站等候时间过长。", ""),
        ("★内江市交通运输局执法直属大队，多路并进摸排执法领域突出问题。", "内江市交通运输局执法直属大队"),
        ("六月九日，伊犁州交通运输综合行政执法支队召开推进会。", "伊犁州交通运输综合行政执法支队"),
        ("二〇二一年六月十二日，省执法总队（局）党委召开党委会。", "省执法总队（局）"),
        ("5月1日，交通运输部法制司调研组来疆调研。", "交通运输部法制司"),
        ("各地要提高政治站位，狠抓落实。", ""),
        ("柳州市开展执法队伍作风纪律暗访。", "柳州市"),
    ],
)
def test_units_find_unit(text, unit):
    assert find_unit(text) == unit


@pytest.mark.parametrize("quote", ["“执法为民不是口号。”", "「执法为民不是口号。」", '"执法为民不是口号。"'])
def test_units_opening_quotation_skipped(quote):
    assert find_unit(quote + "南充市交通运输综合行政执法支队负责人表示。") == "南充市交通运输综合行政执法支队"
