"""``skyhive report DIR``: a sweep folder as ``DIR/report/index.html`` (open it in a browser), one PNG per metric
and varied parameter (mean and 95 % confidence interval over seeds, one line per combination of the other
parameters), and ``DIR/report/report.md`` with the same tables in Markdown.
"""

from __future__ import annotations

import html
import json
import math
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skyhive.experiments.runner import STATUS_OK
from skyhive.experiments.stats import Estimate, combos, group_estimates, metric_columns
from skyhive.experiments.table import RESULTS, SPEC

MAX_LINES = 8  # more combinations of the other parameters than this: pooled into one line


class ReportError(ValueError):
    """The folder holds no sweep table to report on."""


def _fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    if float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.1f}" if abs(x) >= 1000 else f"{x:.4g}"


def _ci(e: Estimate) -> str:
    return f"{_fmt(e.low)} … {_fmt(e.high)}" if e.n > 1 else "–"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def read_sweep(folder: Path) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
    import pyarrow.parquet as pq

    table_path = folder / RESULTS
    if not table_path.exists():
        raise ReportError(f"{folder}: no {RESULTS} (run `skyhive sweep ... --out {folder}` first)")
    try:
        rows = pq.read_table(table_path).to_pylist()
    except Exception as exc:
        raise ReportError(f"{table_path}: cannot read the table: {exc}") from None
    try:
        spec = json.loads((folder / SPEC).read_text())
    except (OSError, ValueError):
        spec = {}
    axes = [a for a in spec.get("paths", []) if rows and a in rows[0]]
    return rows, axes, spec


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _draw(ax: Any, rows: list[dict[str, Any]], axes: list[str], metric: str, axis: str) -> None:
    """Mean and 95 % CI of ``metric`` over seeds against ``axis``; a line per combination of the other axes."""
    others = [a for a in axes if a != axis]
    lines = combos(rows, others)
    pooled = len(lines) > MAX_LINES
    est = group_estimates(rows, axes, metric, [axis] if pooled else [axis, *others])
    xs: list[Any] = list(dict.fromkeys(r.get(axis) for r in rows))
    numeric = _numeric(xs)
    if numeric:
        xs = sorted(xs, key=lambda v: float(v))  # _numeric: no None among them
    for line in ([()] if pooled else lines):
        pts = [(x, est[(x, *line)]) for x in xs if (x, *line) in est and est[(x, *line)].n > 0]
        if not pts:
            continue
        pos = [p[0] if numeric else xs.index(p[0]) for p in pts]
        mean = [p[1].mean for p in pts]
        low = [p[1].low if p[1].n > 1 else p[1].mean for p in pts]
        high = [p[1].high if p[1].n > 1 else p[1].mean for p in pts]
        label = ", ".join(f"{a}={v}" for a, v in zip(others, line, strict=True)) or None
        if numeric and len(pts) > 1:
            (handle,) = ax.plot(pos, mean, marker="o", label=label)
            ax.fill_between(pos, low, high, alpha=0.2, color=handle.get_color())
        else:
            ax.errorbar(pos, mean, yerr=[[m - lo for m, lo in zip(mean, low, strict=True)],
                                         [h - m for m, h in zip(mean, high, strict=True)]],
                        fmt="o", capsize=4, label=label)
    if not numeric:
        ax.set_xticks(range(len(xs)), [str(x) for x in xs])
    ax.set_xlabel(axis)
    ax.grid(True, alpha=0.3)
    if pooled:
        ax.set_title(f"pooled over {len(lines)} combinations of the others", fontsize=8)
    elif others:
        ax.legend(fontsize=7)


def plot_metric(rows: list[dict[str, Any]], axes: list[str], metric: str, path: Path) -> None:
    """One PNG per metric: a panel per varied parameter, mean and 95 % CI over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, panels = plt.subplots(1, len(axes), figsize=(5.0 * len(axes), 3.6), dpi=90, squeeze=False)
    for ax, axis in zip(panels[0], axes, strict=True):
        _draw(ax, rows, axes, metric, axis)
    panels[0][0].set_ylabel(metric)
    fig.suptitle(f"{metric}: mean and 95 % CI over seeds", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _metric_table(rows: list[dict[str, Any]], axes: list[str], metric: str) -> tuple[list[str], list[list[str]]]:
    est = group_estimates(rows, axes, metric)
    head = [*axes, "n", "mean", "95 % CI", "std"]
    body = [[*(str(v) for v in key), str(e.n), _fmt(e.mean), _ci(e), _fmt(e.std)]
            for key, e in est.items()]
    return head, body


def _html_table(head: list[str], body: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _md_table(head: list[str], body: list[list[str]]) -> str:
    esc = [[c.replace("|", "\\|") for c in row] for row in [head, *body]]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in esc[1:]]
    return "\n".join(lines)


STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:right}th{background:#f2f2f2}img{max-width:100%;border:1px solid #eee}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plots img{width:540px}code{background:#f4f4f4;padding:0 .2em}"""


def write_report(folder: str | Path, metrics: Sequence[str] | None = None, all_metrics: bool = False) -> Path:
    """Write ``folder/report/index.html`` (+ PNGs, report.md); return the HTML path.

    Default: every top-level summary metric that varies between runs; ``all_metrics`` adds the nested ones
    (``drones_by_status.landed``, the per-message-kind radio figures ``comms_<kind>.*``); ``metrics`` names
    exactly which columns to show.
    """
    folder = Path(folder)
    rows, axes, spec = read_sweep(folder)
    out = folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    ok = [r for r in rows if r.get("status") == STATUS_OK]
    errors = [r for r in rows if r.get("status") != STATUS_OK]
    chosen = [m for m in metric_columns(rows, axes) if all_metrics or "." not in m]
    chosen.sort(key=lambda m: m == "run_wall_s")  # the machine's figure after the run's
    if metrics:
        unknown = [m for m in metrics if not rows or m not in rows[0]]
        if unknown:
            raise ReportError(f"no column {', '.join(map(repr, unknown))} in {folder / RESULTS}")
        chosen = list(metrics)
    seeds = sorted({int(r["seed"]) for r in rows if r.get("seed") is not None})
    title = f"Sweep report: {spec.get('scenario', folder.name)}"
    facts = [f"{len(rows)} runs ({len(ok)} ok, {len(errors)} error)",
             f"{len(seeds)} seed(s)" + (f" ({seeds[0]}–{seeds[-1]})" if seeds else ""),
             "varied: " + (", ".join(f"<code>{html.escape(a)}</code> ({len({r.get(a) for r in rows})} values)"
                                     for a in axes) or "nothing (seeds only)"),
             "until: " + (f"{spec['until']:g} s" if spec.get("until") else "the scenario's duration"),
             f"written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"]
    body = [f"<h1>{html.escape(title)}</h1>", "<ul>" + "".join(f"<li>{f}</li>" for f in facts) + "</ul>",
            "<p>Each plot: the mean over seeds and its 95 % confidence interval (Student's t; band or bars); "
            "one line per combination of the other varied values. n counts the runs where the metric has a "
            f"value. The full table: <code>{RESULTS}</code> (pyarrow / pandas).</p>"]
    md = [f"# {title}", "", *(f"- {re.sub('<[^>]+>', '`', f)}" for f in facts), "",
          "Mean and 95 % confidence interval (Student's t) over seeds per combination; n counts the runs where "
          "the metric has a value.", ""]
    body.append("<h2>Metrics</h2><ul>" + "".join(f'<li><a href="#{_slug(m)}">{html.escape(m)}</a></li>'
                                                  for m in chosen) + "</ul>")
    for metric in chosen:
        body.append(f'<h3 id="{_slug(metric)}">{html.escape(metric)}</h3>')
        md += [f"## {metric}", ""]
        if ok and axes:
            png = f"{_slug(metric)}.png"
            plot_metric(rows, axes, metric, out / png)
            body.append(f'<img src="{png}" alt="{html.escape(metric)} against the varied parameters">')
            md += [f"![{metric}]({png})", ""]
        head, table = _metric_table(rows, axes, metric)
        body.append(_html_table(head, table))
        md += [_md_table(head, table), ""]
    if errors:
        head = ["run_id", *axes, "seed", "error"]
        table = [[str(r.get(c)) for c in head] for r in errors]
        body += [f"<h2>Runs with an error ({len(errors)})</h2>", _html_table(head, table)]
        md += [f"## Runs with an error ({len(errors)})", "", _md_table(head, table), ""]
    page = (f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style><body>{''.join(body)}</body></html>\n")
    (out / "index.html").write_text(page, encoding="utf-8")
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return out / "index.html"
