"""/metrics: Prometheus counters and latencies, with nothing that dates a unit's answers.

- ``survey_http_requests_total{endpoint, method, status}``: requests by route (the Flask
  endpoint name such as ``answering.answer_unit``, never the raw path, which would carry unit
  codes and ballot tokens) and status;
- ``survey_http_request_duration_seconds{endpoint}``: their latencies (histogram);
- ``survey_answers_stored_total``: answer sheets stored (one per unit rated), all campaigns
  and units together.

No label names a campaign, unit, category or address: a series per unit would tell whoever
reads the metrics when that unit got an answer. Under ``survey serve`` every gunicorn worker
writes its figures to files in PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode)
and /metrics adds them up, whichever worker answers.

Who may read: a client on loopback talking to the app directly (not through a proxy: a
request carrying X-Forwarded-For is refused), or anyone sending ``Authorization: Bearer
<SURVEY_METRICS_TOKEN>``. Everyone else gets 404.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import threading
import time

from flask import Response, abort, current_app, g, request

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_metrics: dict = {}
_making = threading.Lock()  # two threads' first requests must not both register them


def _get() -> dict:
    """The metric objects, made on first use (after gunicorn has set the multiprocess folder)."""
    if _metrics:
        return _metrics
    with _making:
        if _metrics:
            return _metrics
        from prometheus_client import Counter, Histogram
        made = {"requests": Counter("survey_http_requests", "HTTP requests by route and status",
                                    ["endpoint", "method", "status"]),
                "latency": Histogram("survey_http_request_duration_seconds",
                                     "Time to answer a request, by route", ["endpoint"], buckets=BUCKETS),
                "answers": Counter("survey_answers_stored", "Answer sheets stored (one per unit rated)")}
        _metrics.update(made)  # all at once: a thread seeing any sees them all
    return _metrics


def answers_stored(count: int) -> None:
    """Count answer sheets just committed."""
    _get()["answers"].inc(count)


def _endpoint() -> str:
    rule = request.url_rule
    return rule.endpoint if rule is not None else "unmatched"


def _start():
    g._metrics_started = time.perf_counter()


def _record(response):
    started = g.pop("_metrics_started", None)
    if started is not None:
        endpoint = _endpoint()
        metrics = _get()
        metrics["requests"].labels(endpoint, request.method, str(response.status_code)).inc()
        metrics["latency"].labels(endpoint).observe(time.perf_counter() - started)
    return response


def _allowed() -> bool:
    token = str(current_app.config.get("SURVEY_METRICS_TOKEN") or "")
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].encode(), token.encode()):
        return True
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False  # came through a proxy: the peer address says nothing about the client
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR")
    try:
        return ipaddress.ip_address(peer or "").is_loopback
    except ValueError:
        return False


def metrics_view():
    """The Prometheus text exposition, for loopback or the bearer of the metrics token."""
    if not _allowed():
        abort(404)
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    _get()
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app):
    """Time every request and serve /metrics (exempt from rate limits, never logged per unit)."""
    from .limits import limiter
    app.before_request(_start)
    app.after_request(_record)
    app.add_url_rule("/metrics", "metrics", limiter.exempt(metrics_view))
