"""The core's own plugin: the scales in common use, the common respondent categories, and
the general sector with its "five goods" (五个好) questionnaire, its point-of-service pair and
the members' democratic appraisal on the "five leads" (五带头).

It is registered like any installed plugin, so the core has no special path for it.
"""
from pathlib import Path

from ..hookspecs import hookimpl

HERE = Path(__file__).parent


def _scale(key, zh, en, choices):
    return {"key": key, "label": {"zh": zh, "en": en},
            "choices": [{"key": k, "label": {"zh": z, "en": e}, "weight": w, "positive": p}
                        for k, z, e, w, p in choices]}


SCALES = [
    # satisfaction rate = (满意 + 基本满意) / valid answers
    _scale("satisfaction", "满意度", "Satisfaction", [
        ("satisfied", "满意", "Satisfied", 100, True),
        ("basic", "基本满意", "Basically satisfied", 60, True),
        ("unsatisfied", "不满意", "Dissatisfied", 0, False),
    ]),
    _scale("rating", "评价", "Rating", [
        ("good", "好", "Good", 100, True),
        ("fairly_good", "较好", "Fairly good", 80, True),
        ("average", "一般", "Average", 60, False),
        ("poor", "差", "Poor", 0, False),
    ]),
    _scale("appraisal", "民主测评", "Appraisal", [
        ("excellent", "优秀", "Excellent", 100, True),
        ("qualified", "合格", "Qualified", 80, True),
        ("basic", "基本合格", "Basically qualified", 60, True),
        ("unqualified", "不合格", "Unqualified", 0, False),
    ]),
    # 评诺: rating a unit's published commitments (公开承诺)
    _scale("commitment", "承诺兑现", "Commitment", [
        ("fulfilled", "已兑现", "Fulfilled", 100, True),
        ("partly", "部分兑现", "Partly fulfilled", 50, False),
        ("not_fulfilled", "未兑现", "Not fulfilled", 0, False),
    ]),
    _scale("yesno", "是否", "Yes or no", [
        ("yes", "是", "Yes", 100, True),
        ("no", "否", "No", 0, False),
    ]),
    # "did this happen to you?" (吃拿卡要, 红包, 乱收费 …): 没有 is the good answer
    _scale("incidence", "有无", "Did it happen", [
        ("no", "没有", "No", 100, True),
        ("yes", "有", "Yes", 0, False),
    ]),
]

# Invited to every mass evaluation (001, 第三篇), and the unit's own people, for every sector.
# None of these counts toward the 30% share: delegates and deputies are invited beside the
# people served, and the unit's own party members, cadres and staff are the ones evaluated.
COMMON_CATEGORIES = [
    {"key": "party_delegate", "label": {"zh": "党代表", "en": "Party congress delegate"},
     "counts_toward_share": False},
    {"key": "deputy", "label": {"zh": "人大代表、政协委员", "en": "People's congress deputy or CPPCC member"},
     "counts_toward_share": False},
    {"key": "own_staff", "label": {"zh": "本单位党员干部职工",
                                   "en": "Party member, cadre or employee of this unit"},
     "counts_toward_share": False},
]
# "服务对象和群众代表不低于30%" (002): the people served and residents' representatives count.
# These two generic ones are offered only to a sector that names none of its own (a school
# names 家长 and 学生, so it shows no generic 服务对象 beside them).
FALLBACK_CATEGORIES = {
    "service_recipient": {"key": "service_recipient", "label": {"zh": "服务对象", "en": "Service recipient"},
                          "counts_toward_share": True},
    "resident": {"key": "resident", "label": {"zh": "普通群众代表", "en": "Residents' representative"},
                 "counts_toward_share": True},
}


@hookimpl
def survey_sectors():
    """The general sector: grass-roots party organisations and the bodies they run."""
    return [{"key": "general", "label": {"zh": "基层党组织（综合）", "en": "Grass-roots organisations (general)"}}]


@hookimpl
def survey_scales():
    """The scales in common use (satisfaction, rating, appraisal, commitment, yes/no, incidence)."""
    return SCALES


@hookimpl
def survey_respondent_categories(sector):
    """The categories every mass evaluation invites and the unit's own staff, for every sector;
    the generic service recipients and residents unless the sector names its own."""
    return COMMON_CATEGORIES + list(FALLBACK_CATEGORIES.values())


@hookimpl
def survey_questionnaires():
    """The "five goods" assembly questionnaire, its point-of-service pair, and the members'
    democratic appraisal on the five leads (民主评议党员)."""
    return [HERE / "five_goods.toml", HERE / "general_visit.toml", HERE / "five_leads.toml"]
