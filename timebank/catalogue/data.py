"""The district catalogue a new installation starts from (``timebank posts catalogue`` loads it
where missing; the demo uses it too): ``(code, name, name_en, [(kind, kind_en), ...])``."""
from __future__ import annotations

DISTRICT_CATALOGUE = [
    ("convenience", "便民服务", "Convenience service", [
        ("理发义剪", "Free haircuts"), ("家电维修", "Appliance repair"),
        ("法律咨询", "Legal advice"), ("健康义诊", "Free health check"),
        ("政策宣讲", "Policy briefing"), ("代买代办", "Errands"),
        ("垃圾分类引导", "Waste sorting guidance"), ("环境整治", "Neighbourhood clean-up"),
        ("文明交通劝导", "Traffic civility"), ("平安巡逻", "Safety patrol"),
        ("疫苗接种引导", "Vaccination guidance"), ("反诈宣传", "Anti-fraud awareness"),
    ]),
    ("caring", "爱心帮扶", "Caring assistance", [
        ("空巢老人探访", "Visiting elderly living alone"), ("助老送餐", "Meals for the elderly"),
        ("残疾人帮扶", "Help for the disabled"), ("困难家庭帮扶", "Help for families in need"),
        ("留守儿童陪伴", "Company for left-behind children"), ("课业辅导", "Homework tutoring"),
        ("心理疏导", "Counselling"), ("就业指导", "Job guidance"), ("助医陪诊", "Hospital escort"),
        ("爱心捐助", "Donations"), ("助残出行", "Mobility help"),
    ]),
    ("culture", "文体艺术", "Culture, sports and arts", [
        ("书法教学", "Calligraphy class"), ("绘画辅导", "Painting class"),
        ("合唱指导", "Choir coaching"), ("广场舞编排", "Square dance"),
        ("太极拳教学", "Tai chi class"), ("棋类活动", "Chess and go"),
        ("读书分享", "Reading club"), ("摄影记录", "Photography"), ("手工编织", "Handicrafts"),
        ("戏曲表演", "Opera performance"), ("体育赛事组织", "Sports events"),
    ]),
]
