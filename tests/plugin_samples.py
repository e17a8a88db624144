"""Small plugins used by the plugin tests: good ones and each kind of broken one."""
from survey import hookimpl

LIBRARY_ITEMS = [
    {"key": "opening_hours", "kind": "choice", "scale": "satisfaction",
     "label": {"zh": "开放时间方便群众", "en": "Opening hours suit people"}},
    {"key": "quiet", "kind": "yesno", "label": {"zh": "阅览室安静整洁", "en": "Reading rooms are quiet and clean"}},
]


def questionnaire(version="1", items=None, key="reading_room", sector="reading_room"):
    return {"key": key, "version": version, "sector": sector,
            "title": {"zh": "图书馆满意度测评", "en": "Library satisfaction survey"},
            "items": items or LIBRARY_ITEMS}


class Library:
    """A good plugin: one sector, one questionnaire, one category, one extra check."""

    def __init__(self, version="1", items=None):
        self.version, self.items = version, items

    @hookimpl
    def survey_sectors(self):
        return [{"key": "reading_room", "label": {"zh": "公共图书馆", "en": "Public libraries"}}]

    @hookimpl
    def survey_questionnaires(self):
        return [questionnaire(self.version, self.items)]

    @hookimpl
    def survey_respondent_categories(self, sector):
        if sector != "reading_room":
            return []
        return [{"key": "reader", "label": {"zh": "读者", "en": "Reader"}, "counts_toward_share": True}]


class StrictLibrary(Library):
    """Refuses a response whose readers say the rooms are noisy without a comment."""

    @hookimpl
    def survey_validate_response(self, questionnaire, unit, category, answers):
        if answers.get("quiet") == "no" and not answers.get("comment"):
            return [("quiet", "请在意见中说明哪里不安静 / please say in a comment what is noisy")]
        return []


class RaisesInHook:
    @hookimpl
    def survey_sectors(self):
        raise RuntimeError("sector list unavailable")


class InvalidQuestionnaire:
    @hookimpl
    def survey_sectors(self):
        return [{"key": "museum", "label": {"zh": "博物馆", "en": "Museums"}}]

    @hookimpl
    def survey_questionnaires(self):
        return [questionnaire(key="museum", sector="museum",
                              items=[{"key": "exhibits", "kind": "choice", "label": {"zh": "展览"}}])]


class ReusesSector:
    @hookimpl
    def survey_sectors(self):
        return [{"key": "general", "label": {"zh": "综合", "en": "General"}}]


class Misspelled:
    @hookimpl
    def survey_sector(self):
        return []


class RaisesInValidation(Library):
    @hookimpl
    def survey_validate_response(self, questionnaire, unit, category, answers):
        raise ZeroDivisionError("bug in a branch's check")


class FixedWeights:
    @hookimpl
    def survey_scale_weights(self, scale):
        return {"satisfied": 100, "basic": 80, "unsatisfied": 0} if scale.key == "satisfaction" else None


class ReportSection:
    @hookimpl
    def survey_report_sections(self, campaign, results):
        return [{"title": {"zh": "图书借阅情况", "en": "Lending"}, "rows": [["月份", "借阅量"], ["1", "100"]]}]
