"""The hooks a survey plugin may implement. Every hook's name starts with ``survey_``.

A plugin is a module (or object) whose functions carry the ``hookimpl`` marker::

    from survey import hookimpl

    @hookimpl
    def survey_sectors():
        return [{"key": "library", "label": {"zh": "图书馆", "en": "Libraries"}}]

Plugins never touch the database: they return data, and the core stores and counts.
Values may be the models of survey.questionnaire or plain dicts of the same shape.
"""
import pluggy

PROJECT = "survey"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


def required_check(function):
    """Mark a survey_validate_response implementation as required: if it raises, the answer
    is refused with a page asking the resident to try again, rather than stored unchecked::

        @hookimpl
        @required_check
        def survey_validate_response(questionnaire, unit, category, answers, locale): ...
    """
    function.survey_required = True
    return function


@hookspec
def survey_sectors():
    """Return the sectors this plugin provides, a list of Sector (key and label).

    Called once when the app starts. A sector key used by two plugins is an error that names
    both; the second plugin is left out.
    """


@hookspec
def survey_questionnaires():
    """Return this plugin's questionnaires, a list of Questionnaire (or dicts, or paths of
    TOML files). Each names its sector; a sector may have several (a hospital's patient
    survey and its service-window survey). The first one of a sector is its default.

    Called once when the app starts; an invalid questionnaire leaves the plugin out.
    """


@hookspec
def survey_scales():
    """Return the scales this plugin defines, a list of Scale: key, label and choices,
    each choice with its weight (e.g. 100 / 60 / 0) and whether it counts as satisfied.

    The core's built-in plugin provides the four scales in common use: satisfaction,
    rating, appraisal and commitment.
    """


@hookspec(firstresult=True)
def survey_scale_weights(scale):
    """Return a dict choice key -> weight that overrides the weights of ``scale`` (a Scale),
    or None to leave them. The first plugin that returns a dict wins (firstresult): an
    organiser states the weights before the evaluation opens, and the campaign freezes them.
    """


@hookspec
def survey_respondent_categories(sector):
    """Return the respondent categories for units of ``sector`` (a sector key), a list of
    Category. Each says whether it counts toward the share of service recipients and
    residents (服务对象和群众代表) that the campaign's composition minimum checks.

    Every plugin is asked about every sector; return [] for sectors you do not know. The
    categories a resident may pick are the union, in plugin order, without duplicate keys.
    """


@hookspec
def survey_validate_response(questionnaire, unit, category, answers, locale):
    """Check one response beyond the questionnaire's own rules, before it is stored.

    Receives ``questionnaire``, the frozen Questionnaire; ``unit``, a dict (code, name,
    sector, parent, commitments, members); ``category``, the respondent category key (None when the
    ballot does not ask); ``answers``, a dict answer key -> choice key or comment text (a
    commitment's key is ``item.N``); and ``locale``, the resident's language (``"zh_CN"`` or
    ``"en"``). An implementation may name only the arguments it uses.

    Returns a list of ``(item key or None, message)`` pairs; any pair rejects the response and
    the message is shown next to that item (None: at the top of the form). A message is a
    str in the resident's language (use ``locale``), or a dict ``{"zh": …, "en": …}`` (or a
    Text), which the toolkit shows in the resident's language.

    A check that raises is logged, shown by `survey plugins` and the admin, makes
    `survey plugins --check` fail, and is skipped: the answer is stored. Mark the function
    with ``@survey.required_check`` (under ``@hookimpl``) when an unchecked answer must not be
    stored: then a raise refuses the answer with a page asking the resident to try again.
    """


@hookspec
def survey_report_sections(campaign, results):
    """Return extra sections for a campaign's result report, a list of dicts with a
    ``title`` (Text) and ``rows`` (a list of lists of strings), the first row the header.

    ``campaign`` is a dict (name, slug, line, composition minimum), ``results`` the
    per-unit results the report shows. Called when a report is made.
    """
