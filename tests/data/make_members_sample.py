"""Writes members_sample.xlsx / members_sample.csv: completed registration forms (20 people)
in the import template's layout, using names from the demo district (units, grids, skills,
post kinds). Run from the project root: ``.venv/bin/python tests/data/make_members_sample.py``.
"""
from __future__ import annotations

import csv
import random
from pathlib import Path

import openpyxl
from stdnum.cn import ric

HERE = Path(__file__).parent
HEADERS = ["姓名", "手机号", "身份证号", "工作单位", "网格", "特长", "其他特长", "爱好", "服务意愿",
           "空闲时间", "每月最多次数"]
NAMES = ["王建华", "李秀英", "张伟", "刘洋", "陈静", "杨磊", "黄丽", "赵强", "吴敏", "周杰",
         "徐娜", "孙涛", "马超", "朱艳", "胡军", "郭芳", "何勇", "高明", "林霞", "罗平"]
UNITS = ["区人民医院", "区第一中学", ""]
GRIDS = ["第一网格", "第二网格"]
SKILLS = [["医疗护理", "应急救护"], ["教育辅导", "书法"], ["法律咨询"], ["电脑维修"], [],
          ["摄影摄像", "文字写作"], ["太极拳"], ["烹饪", "理发"]]
WILLING = ["爱心帮扶", "便民服务、理发义剪", "文体艺术", "空巢老人探访、课业辅导", "", "健康义诊"]
AVAIL = ["工作日晚上", "周末全天", "周六上午、周日下午", "周一至周五晚上", "周三晚上", ""]


def rows():
    rng = random.Random(3)
    out = []
    for i, name in enumerate(NAMES):
        body = f"110105{1965 + i}{(i % 12) + 1:02d}{(i % 27) + 1:02d}{100 + i:03d}"
        number = body + ric.calc_check_digit(body + "0")
        out.append([name, f"1381234{i:04d}", number, UNITS[i % 3], GRIDS[i % 2],
                    "、".join(SKILLS[i % len(SKILLS)]), "会修自行车" if i % 7 == 0 else "",
                    rng.choice(["跑步", "阅读、旅行", "", "钓鱼"]), WILLING[i % len(WILLING)],
                    AVAIL[i % len(AVAIL)], [2, 4, "", 8][i % 4]])
    return out


def main() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "报到登记"
    ws.append(HEADERS)
    for row in rows():
        ws.append(row)
    for col in ("B", "C"):
        for cell in ws[col]:
            cell.number_format = "@"
    wb.save(HERE / "members_sample.xlsx")
    with (HERE / "members_sample.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        writer.writerows(rows())


if __name__ == "__main__":
    main()
