"""Security headers on every response, and production cookie settings.

The CSP allows no inline script and no inline style except the app's own stylesheets,
admitted by their SHA-256 (survey/assets.py); script only from the app's own address (the scripts:
the answer feedback and keyboard entry of paper ballots, are optional: pages work without them). It
forbids framing (clickjacking a ballot), and nosniff stops content-type guessing, so nothing
the app serves as data (exports, the API) can be run as a script.
"""


def content_security_policy(style_hashes) -> str:
    """The policy, admitting the inline stylesheets with these CSP hash sources."""
    styles = " ".join(["'self'", *style_hashes])
    return (f"default-src 'none'; style-src {styles}; script-src 'self'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def init_app(app):
    """Add the headers to every response."""
    csp = content_security_policy(app.extensions["survey_assets"].style_hashes())

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
