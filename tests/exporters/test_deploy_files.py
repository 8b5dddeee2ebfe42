"""The shipped Prometheus rules and Grafana dashboards: valid, linted by promtool, and about real metrics.

No Grafana server can be installed from the registries here (Debian has no `grafana` package), so
dashboards are validated against deploy/grafana/dashboard.schema.json and every PromQL query in
them is linted by Debian's promtool.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from exporter_peers import make_view

from camcheck.exporters.config import MqttConfig
from camcheck.exporters.events import OpenIncident
from camcheck.exporters.mqtt import MqttExporter
from camcheck.exporters.outbox import Outbox, OutboxCollector
from camcheck.exporters.prometheus import CameraMetricsCollector, ParentIncidentCollector

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted(GRAFANA.glob("*.json"))
DASHBOARDS = [p for p in DASHBOARDS if not p.name.endswith(".schema.json")]
BUILTIN_VARS = {"__rate_interval", "__interval", "__range", "__range_s", "__data", "__all", "__dashboard"}
_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
_LABEL_VALUES = re.compile(r"^label_values\((?:(.+),\s*)?(\w+)\)$")


def promtool(*args: str, cwd: Path | None = None) -> str:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    r = subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=cwd, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_rules_check_and_unit_tests_pass():
    out = promtool("check", "rules", str(PROM / "camcheck-rules.yml"))
    assert "SUCCESS" in out
    promtool("test", "rules", "camcheck-rules.test.yml", cwd=PROM)
    promtool("check", "config", "prometheus.example.yml", cwd=PROM)


def _exprs(dashboard: dict) -> list[tuple[str, str]]:
    out = []
    for panel in dashboard["panels"]:
        for t in panel.get("targets", []):
            out.append((f"panel {panel['id']} {panel['title']!r} {t['refId']}", t["expr"]))
    return out


def _substitute(expr: str) -> str:
    """Grafana variables -> values promtool can parse (durations for intervals, text elsewhere)."""
    expr = re.sub(r"\$\{?__(rate_interval|interval|range)\}?", "5m", expr)
    return _VAR.sub("x", expr)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_valid_and_queries_lint(path: Path, tmp_path: Path):
    schema = json.loads((GRAFANA / "dashboard.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    dash = json.loads(path.read_text())
    jsonschema.validate(dash, schema, cls=jsonschema.Draft202012Validator)

    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: dict[tuple[int, int], int] = {}
    for p in dash["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, f"panel {p['id']} is wider than the grid"
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"panels {cells[(x, y)]} and {p['id']} overlap"
                cells[(x, y)] = p["id"]
        refs = [t["refId"] for t in p.get("targets", [])]
        assert len(refs) == len(set(refs)), f"panel {p['id']} repeats a refId"

    variables = {v["name"] for v in dash["templating"]["list"]}
    exprs = _exprs(dash)
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = _LABEL_VALUES.match(q)
            assert m, f"variable {v['name']}: unsupported query {q!r}"
            if m.group(1):
                exprs.append((f"variable {v['name']}", m.group(1)))
    used = {a or b for _w, e in exprs for a, b in _VAR.findall(e)}
    assert used - BUILTIN_VARS <= variables, f"undefined variables: {used - BUILTIN_VARS - variables}"
    assert any("camera" == v for v in variables) or "fleet" in path.name

    # Lint every query with promtool: each becomes a recording rule in a throwaway rules file.
    rules = {"groups": [{"name": "dashboard-lint", "rules": [
        {"record": f"lint:expr_{i}", "expr": _substitute(e)} for i, (_w, e) in enumerate(exprs)
    ]}]}
    rule_file = tmp_path / "lint.yml"
    rule_file.write_text(json.dumps(rules))  # JSON is YAML
    out = promtool("check", "rules", str(rule_file))
    assert f"SUCCESS: {len(exprs)} rules found" in out


def test_every_metric_named_in_rules_and_dashboards_exists(tmp_path: Path):
    outbox = Outbox(tmp_path / "o.db")
    outbox.put("mqtt:x", "e", b"p")
    views = {"c": make_view("c", findings=("no_video",), measured={**make_view().measured, "unchanged_s": 60.0})}
    col = CameraMetricsCollector(
        lambda: views.values(),
        lambda: {"in_flight": 1, "queue_depth": 0, "cycle_lag": 0, "started": 1, "completed": 1, "errors": 0, "overruns": 0},
        labels=["district", "agency"],
        extra_collectors=[OutboxCollector(outbox), MqttExporter(MqttConfig(), outbox).collector(),
                          ParentIncidentCollector(lambda: [
                              OpenIncident("nvr-1", 4, 1_780_000_000.0, "NVR ศาลากลาง", covered_by="site-1"),
                              OpenIncident("site-1", 4, 1_780_000_000.0)])],
    )
    col.observe_check("c", 1.0, "working")
    exposed = set(re.findall(r"^(\w+)[{ ]", col.render().decode(), re.M)) | {"up"}
    texts = [(PROM / "camcheck-rules.yml").read_text()] + [e for p in DASHBOARDS for _w, e in _exprs(json.loads(p.read_text()))]
    texts += [json.dumps(json.loads(p.read_text())["templating"]) for p in DASHBOARDS]
    named = {m for t in texts for m in re.findall(r"\b(camcheck_[a-z_]+|up)\b", t)}
    assert named, "no metric names found"
    assert named <= exposed, f"not exported by camcheck: {sorted(named - exposed)}"
    # And the label names the rules group by are real labels of those series.
    assert 'district="Mueang"' in col.render().decode()
    outbox.close()
