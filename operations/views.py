"""Endpoints for operators: /healthz, /readyz and /metrics. docs/deployment.md tells how to use them."""

from __future__ import annotations

import ipaddress
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from operations import exposition
from operations.health import readiness


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering; it checks nothing else (that is /readyz)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
async def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the channel layer answer, else 503 saying which did not."""
    checks = await readiness()
    ready = all(result == "ok" for result in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)


def may_scrape(request: HttpRequest) -> bool:
    """A scraper shows METRICS_TOKEN as a bearer token, or comes from METRICS_ALLOWED_IPS."""
    if settings.METRICS_TOKEN:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(presented.strip(), settings.METRICS_TOKEN):
            return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for the scrapers `may_scrape` admits; 403 for anyone else."""
    if not may_scrape(request):
        return JsonResponse(
            {"detail": "metrics are for the addresses in METRICS_ALLOWED_IPS or a bearer METRICS_TOKEN"}, status=403
        )
    return HttpResponse(generate_latest(exposition.registry()), content_type=CONTENT_TYPE_LATEST)
