"""The dashboard's data: articles per day per source and category, runs over time, open alerts,
top companies of the week. One JSON document; the page draws it without any outside resource.

The window ends on the newest day that has articles, not on today: a pipeline that stopped
still shows its last weeks (and the verifier says that it stopped), and sample data from
another month is still drawn.
"""

from __future__ import annotations

from datetime import date, timedelta

from chalicelib.api.models import CompanyCount, DashboardData, DayCount, RunPoint, Series
from chalicelib.api.status import open_findings, verifier_info
from chalicelib.runtime import Runtime
from chalicelib.search.base import SearchQuery

SERIES_MAX = 8  # lines per chart beyond which nobody can tell the colours apart


def _days_facet(rt: Runtime, **filters: object) -> dict[str, int]:
    result = rt.search.search(SearchQuery(size=0, facets=True, **filters))  # type: ignore[arg-type]
    return {str(d)[:10]: int(n) for d, n in result.facets.get("days", [])}


def dashboard_data(rt: Runtime, *, window_days: int = 14, runs: int = 50,
                   now: float | None = None) -> DashboardData:
    now = rt.clock.now() if now is None else now
    overall = rt.search.search(SearchQuery(size=0, facets=True))
    all_days = sorted(str(d)[:10] for d, _ in overall.facets.get("days", []))
    end = date.fromisoformat(all_days[-1]) if all_days else None
    days: list[str] = []
    by_source: list[Series] = []
    by_category: list[Series] = []
    top: list[CompanyCount] = []
    week: list[str] = []
    if end is not None:
        start = end - timedelta(days=window_days - 1)
        days = [(start + timedelta(days=i)).isoformat() for i in range(window_days)]
        window = {"date_from": start, "date_to": end}
        scoped = rt.search.search(SearchQuery(size=0, facets=True, **window))  # type: ignore[arg-type]
        for facet, field, out in (("sources", "source", by_source), ("categories", "category", by_category)):
            for name, _count in scoped.facets.get(facet, [])[:SERIES_MAX]:
                per_day = _days_facet(rt, **window, **{field: name})
                out.append(Series(name=str(name), points=[DayCount(day=d, count=per_day.get(d, 0))
                                                          for d in days]))
        week_start = end - timedelta(days=6)
        week = [week_start.isoformat(), end.isoformat()]
        weekly = rt.search.search(SearchQuery(size=0, facets=True, date_from=week_start, date_to=end))
        top = [CompanyCount(name=str(n), count=int(c)) for n, c in weekly.facets.get("companies", [])]
    points = []
    for run in reversed(rt.ledger.list_runs(limit=runs)):
        articles = run.detail.get("articles") or {}
        cost = run.detail.get("cost") or {}  # what the verify step recorded (chalicelib/steps/verify.py)
        points.append(RunPoint(run_id=run.run_id, created=run.created,
                               duration_s=round(run.ended - run.created, 3) if run.ended else None,
                               state=run.state, verdict=run.verdict,
                               articles=int(articles.get("valid", 0) or 0), attempts=run.attempt,
                               cost=_number(cost.get("total")),
                               cost_per_1k_articles=_number(cost.get("per_1k_articles")),
                               currency=cost.get("currency")))
    return DashboardData(time=now, window_days=window_days, window_end=end.isoformat() if end else None,
                         days=days, documents=overall.total, by_source=by_source, by_category=by_category,
                         runs=points, open_alerts=open_findings(rt), top_companies=top, week=week,
                         verifier=verifier_info(rt))


def _number(v: object) -> float | None:
    """A number the ledger holds (DynamoDB answers Decimals), or None for anything else."""
    if v is None or isinstance(v, bool):
        return None
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
