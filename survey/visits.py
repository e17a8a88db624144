"""The signed per-campaign cookie that marks a browser as having answered a unit.

It holds only unit ids, is signed with the app's secret, and is never stored with a response.
"""
from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

MAX_AGE = 400 * 24 * 3600


def _serializer():
    return URLSafeSerializer(current_app.secret_key, salt="survey-answered")


def _cookie(campaign_id: int) -> str:
    return f"answered_{campaign_id}"


def answered_units(campaign_id: int) -> set[int]:
    """The unit ids this browser has answered in the campaign."""
    raw = request.cookies.get(_cookie(campaign_id))
    if not raw:
        return set()
    try:
        return {int(u) for u in _serializer().loads(raw)}
    except (BadSignature, TypeError, ValueError):
        return set()


def already_answered(campaign_id: int, unit_id: int) -> bool:
    """True if this browser has answered this unit in this campaign."""
    return unit_id in answered_units(campaign_id)


def mark_answered(response, campaign_id: int, unit_ids) -> None:
    """Add units to the browser's signed cookie for the campaign."""
    units = sorted(answered_units(campaign_id) | set(unit_ids))
    response.set_cookie(_cookie(campaign_id), _serializer().dumps(units), max_age=MAX_AGE,
                        httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
