"""Security headers on every response, and production cookie settings.

CSP allows only the app's own stylesheet and images and no script at all, forbids framing
(clickjacking a ballot), and nosniff stops content-type guessing. The one page with script
(keyboard entry of paper ballots) gets CSP_OWN_SCRIPT: script from the app's own static
files only, never inline (`allow_own_script`).
"""
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
CSP_OWN_SCRIPT = CSP + "; script-src 'self'"


def allow_own_script(response):
    """Let this response run the app's own script files (same origin, no inline script)."""
    response.headers["Content-Security-Policy"] = CSP_OWN_SCRIPT
    return response


def init_app(app):
    """Add the headers to every response."""

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
