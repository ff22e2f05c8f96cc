"""deploy/grafana/ccvc.json queries only metrics that GET /metrics exports."""

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import exposition

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "ccvc.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
# PromQL's own words, which look like metric names in an expression.
PROMQL = {"sum", "by", "rate", "increase", "histogram_quantile", "le", "without", "avg", "max", "min"}


def exported() -> set[str]:
    """Every series name /metrics can carry, from its TYPE lines (a labelled metric not yet observed has
    no sample, but its family is there)."""
    families = text_string_to_metric_families(exposition().decode())
    # prometheus_client's `_created` series (when each counter started, in one process only) are left out.
    ours = [f for f in families if f.name.startswith("ccvc_") and not f.name.endswith("_created")]
    return {f"{f.name}{suffix}" for f in ours for suffix in SUFFIXES[f.type]}


def queried(dashboard: dict[str, Any]) -> set[str]:
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    # Label matchers, ranges, strings and the label lists of `by (...)` are not metric names.
    without_labels = [re.sub(r"\{[^}]*\}|\[[^]]*\]|\"[^\"]*\"|by \([^)]*\)", " ", expr) for expr in expressions]
    return {name for expr in without_labels for name in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)} - PROMQL


def test_every_metric_the_dashboard_queries_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    names = queried(dashboard)
    assert names and names <= exported(), sorted(names - exported())


def test_every_exported_metric_is_on_the_dashboard() -> None:
    bases = {re.sub(r"_(bucket|count|sum)$", "", name) for name in queried(json.loads(DASHBOARD.read_text()))}
    families = {re.sub(r"_(bucket|count|sum)$", "", name) for name in exported()}
    assert families <= bases, sorted(families - bases)
