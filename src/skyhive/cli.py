"""The ``skyhive`` command line: run, validate, bench (typer + rich)."""

from __future__ import annotations

import importlib
import json
import platform
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from skyhive.record.writer import write_summary_json
from skyhive.scenario.load import ScenarioError, load_scenario

app = typer.Typer(
    name="skyhive",
    help="Cooperative drone swarms that share airspace safely: simulate, validate, benchmark.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario file (.yaml, .yml or .toml).", show_default=False)]


def _report_problems(exc: ScenarioError) -> None:
    table = Table(title=f"{exc.source}: {len(exc.problems)} problem(s)", title_justify="left", show_lines=False)
    table.add_column("line", justify="right", style="cyan")
    table.add_column("field")
    table.add_column("problem", style="red")
    for p in exc.problems:
        table.add_row(str(p.line or ""), p.path or "<root>", p.message)
    err.print(table)


def _load(path: Path, seed: int | None) -> Any:
    from skyhive.flight.checks import require_flyable

    try:
        scenario = load_scenario(path, seed=seed)
        require_flyable(scenario, path.parent, path)
        return scenario
    except ScenarioError as exc:
        _report_problems(exc)
        raise typer.Exit(code=2) from None


@app.command()
def validate(scenario: ScenarioArg) -> None:
    """Check a scenario file and list every problem at once, with field path and line."""
    s = _load(scenario, None)
    console.print(f"[green]OK[/green] {scenario}: '{s.name}', {s.n_drones:,} drones in {len(s.fleets)} fleet(s), "
                  f"{len(s.airspace.geofences)} geofence(s), {len(s.manned)} manned vehicle(s), "
                  f"{s.duration:g} s at dt = {s.dt:g} s")
    from skyhive.flight.checks import intent_conflicts

    for conflict in intent_conflicts(s):
        console.print(f"[yellow]warning[/yellow] {conflict}")


@app.command()
def schema() -> None:
    """Print the scenario JSON Schema (for editors' YAML language servers)."""
    from skyhive.scenario.models import Scenario

    print(json.dumps(Scenario.model_json_schema(), indent=2))


def summary_table(metrics: dict[str, Any]) -> Table:
    table = Table(title="run summary", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        elif isinstance(value, float):
            value = f"{value:,.3f}".rstrip("0").rstrip(".")
        elif isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        table.add_row(key.replace("_", " "), str(value))
    return table


def intruder_table(rows: list[dict[str, Any]]) -> Table:
    """The per-intruder table of an airspace run (first detected, tracked, alerted; identified as)."""
    table = Table(title="intruders", title_justify="left")
    for col in rows[0]:
        table.add_column(col.replace("_", " "), justify="left" if col in ("intruder", "identified_as") else "right")
    for row in rows:
        table.add_row(*["-" if v is None else str(v) for v in row.values()])
    return table


@app.command()
def run(
    scenario: ScenarioArg,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's random seed.")] = None,
    until: Annotated[float | None, typer.Option(help="Stop at this simulated time, seconds (default: duration).")]
    = None,
    record: Annotated[Path | None, typer.Option(help="Write an MCAP log here (Foxglove schemas).")] = None,
    summary: Annotated[Path, typer.Option(help="Write the run summary as JSON here.")] = Path("run.summary.json"),
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run a scenario to the end (or --until), then print and save the summary."""
    from skyhive.sim import Simulation

    s = _load(scenario, seed)
    sim = Simulation(s, base_dir=scenario.parent)
    recorder = None
    stop = _StopOnSignal()  # Ctrl-C / SIGTERM: stop at the next tick boundary, keep the log readable
    if record is not None:
        from skyhive.record.attach import attach_recorder

        recorder = attach_recorder(sim, record)
    end = s.duration if until is None else min(until, s.duration)
    interrupted = False
    try:
        if progress:
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[t]}"),
                          TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False) as bar:
                task = bar.add_task(f"{s.name}: {s.n_drones:,} drones", total=end, t="")
                last = [0.0]

                def tick(t: float) -> None:
                    stop.check()
                    now = time.perf_counter()
                    if now - last[0] > 0.1 or t >= end:
                        last[0] = now
                        bar.update(task, completed=t, t=f"t = {t:,.1f} s")

                sim.run(until=end, progress=tick)
        else:
            sim.run(until=end, progress=lambda t: stop.check())
    except KeyboardInterrupt:
        interrupted = True
        err.print(f"[yellow]interrupted at t = {sim.t:.1f} s; writing what was simulated[/yellow]")
    finally:
        stop.restore()
        if recorder is not None:
            recorder.close()
    metrics = sim.metrics
    metrics["interrupted"] = interrupted
    console.print(summary_table({k: v for k, v in metrics.items() if k != "intruders"}))
    if metrics.get("intruders"):
        console.print(intruder_table(metrics["intruders"]))
    summary.parent.mkdir(parents=True, exist_ok=True)
    write_summary_json(summary, metrics)
    console.print(f"summary written to {summary}" + (f"; log written to {record}" if record else ""))
    if interrupted:
        raise typer.Exit(code=130)


class _StopOnSignal:
    """SIGINT/SIGTERM set a flag that the run loop checks between ticks.

    Raising KeyboardInterrupt from the handler at an arbitrary point can land
    inside a numba-compiled kernel, which turns it into a SystemError traceback;
    checking at tick boundaries always stops cleanly.  A second signal raises at once.
    """

    def __init__(self) -> None:
        self.requested = False
        self._old = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    def restore(self) -> None:
        for sig, old in self._old.items():
            if old is not None:
                signal.signal(sig, old)


@app.command()
def serve(
    scenario: ScenarioArg,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall-clock second.", min=0.01, max=100.0)]
    = 1.0,
    drones: Annotated[str | None, typer.Option(help="Drones to expose, e.g. '0-9,20' (default: all).")] = None,
    base_port: Annotated[int, typer.Option(help="UDP port of the first exposed vehicle.", min=1, max=65535)] = 14540,
    per_port: Annotated[int, typer.Option(help="Vehicles per UDP port (system ids 1..N on each).", min=1, max=250)]
    = 1,
    bind: Annotated[str, typer.Option(help="Address to bind; anything but loopback requires --key-file.")]
    = "127.0.0.1",
    key_file: Annotated[Path | None, typer.Option(help="MAVLink 2 signing keys (see docs/mavlink.md).")] = None,
    allow_unsigned_loopback: Annotated[bool, typer.Option(
        help="On a loopback bind, accept unsigned commands even on links that have a key (MAVSDK cannot sign).")]
    = False,
    push: Annotated[list[str] | None, typer.Option(
        help="Also send telemetry to this HOST:PORT unasked, e.g. 127.0.0.1:14550 for QGroundControl (repeatable).")]
    = None,
    push_each: Annotated[str | None, typer.Option(
        help="PX4 SITL's convention: the vehicle on port k streams to HOST:PORT+k, e.g. 127.0.0.1:14540 "
             "(MAVSDK 'udpin://0.0.0.0:14540' reaches vehicle 0).")] = None,
    until: Annotated[float | None, typer.Option(help="Stop at this simulated time, s (default: run until Ctrl-C).")]
    = None,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's random seed.")] = None,
    summary: Annotated[Path | None, typer.Option(help="Write the run and MAVLink counters as JSON here at exit.")]
    = None,
) -> None:
    """Run a scenario in real time and expose its drones as MAVLink 2 vehicles over UDP."""
    from skyhive.mavlink.serve import RealTime, parse_drones
    from skyhive.mavlink.server import ServeOptions, is_loopback, parse_host_port
    from skyhive.mavlink.signing import KeyFileError, load_key_file
    from skyhive.sim import Simulation

    s = _load(scenario, seed)
    try:
        exposed = parse_drones(drones, s.n_drones)
        keys = load_key_file(key_file) if key_file is not None else {}
        targets = [parse_host_port(p) for p in push or []]
        each = parse_host_port(push_each, "--push-each") if push_each else None
    except (ValueError, KeyFileError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from None
    n_ports = (len(exposed) + per_port - 1) // per_port
    if base_port + n_ports - 1 > 65535:
        err.print(f"[red]{n_ports} ports from {base_port} run past 65535; lower --base-port or raise --per-port[/red]")
        raise typer.Exit(code=2)
    if each is not None and each[1] + n_ports - 1 > 65535:
        err.print(f"[red]--push-each: {n_ports} ports from {each[1]} run past 65535[/red]")
        raise typer.Exit(code=2)
    if not is_loopback(bind) and "default" not in keys:
        missing = [p for p in range(base_port, base_port + n_ports) if str(p) not in keys]
        if missing:
            err.print(f"[red]--bind {bind} is not loopback: every link must be signed, but {len(missing)} port(s) "
                      f"(first {missing[0]}) have no key in --key-file[/red]")
            raise typer.Exit(code=2)
    sim = Simulation(s, base_dir=scenario.parent)
    try:
        rt = RealTime(sim, exposed, ServeOptions(bind, base_port, per_port, True, keys, allow_unsigned_loopback,
                                                 targets, each), speed)
    except OSError as exc:
        err.print(f"[red]cannot open the MAVLink ports on {bind}: {exc.strerror}[/red]")
        raise typer.Exit(code=2) from None
    last = base_port + n_ports - 1
    policy = "signing required" if keys and not (is_loopback(bind) and allow_unsigned_loopback) else (
        "signed links accept unsigned commands (loopback)" if keys else "unsigned (loopback only)")
    console.print(f"serving {len(exposed):,} vehicle(s) of '{s.name}' on udp://{bind}:{base_port}"
                  + (f"-{last}" if last > base_port else "") + f", {per_port} per port, speed x{speed:g}, {policy}; "
                  f"Ctrl-C to stop", soft_wrap=True)
    sys.stdout.flush()
    stop = _StopOnSignal()
    try:
        rt.run(until=until, on_wall=lambda: rt.stop() if stop.requested else None)
    finally:
        stop.restore()
        rt.close()
    metrics = rt.metrics()
    console.print(summary_table({k: v for k, v in metrics.items() if k.startswith(("mavlink", "serve", "sim_time"))}))
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        write_summary_json(summary, metrics)


@app.command(name="console")
def console_cmd(
    scenario: Annotated[Path | None, typer.Argument(help="Scenario to run live (or use --replay).", show_default=False)]
    = None,
    replay: Annotated[Path | None, typer.Option(help="Replay this MCAP log instead of running a scenario.")] = None,
    port: Annotated[int, typer.Option(help="TCP port of the web page.", min=0, max=65535)] = 8080,
    host: Annotated[str, typer.Option(help="Address to bind; anything but loopback requires a token.")]
    = "127.0.0.1",
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall-clock second.", min=0.01, max=1000.0)]
    = 1.0,
    token: Annotated[str | None, typer.Option(help="Access token (default: generated for a non-loopback --host).")]
    = None,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the page in a browser.")] = True,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's random seed.")] = None,
    record: Annotated[Path | None, typer.Option(help="Also record the live run (and operator actions) to MCAP.")]
    = None,
) -> None:
    """The operator's browser console: watch and task a live run, or replay a recorded one (docs/console.md)."""
    from skyhive.console.serve import resolve_token, run_server

    if (scenario is None) == (replay is None):
        err.print("[red]give a SCENARIO to run live or --replay run.mcap (one of them)[/red]")
        raise typer.Exit(code=2)
    try:
        tok = resolve_token(host, token)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from None
    recorder = None
    source: Any
    if replay is not None:
        from skyhive.console.replay import Recording, ReplayError, ReplayRunner

        try:
            source = ReplayRunner(Recording(replay), speed=speed)
        except ReplayError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=2) from None
        what = f"replay of {replay} ({source.n_drones:,} drones, {source.rec.duration:,.0f} s)"
    else:
        from skyhive.console.live import LiveRunner
        from skyhive.sim import Simulation

        assert scenario is not None
        s = _load(scenario, seed)
        sim = Simulation(s, base_dir=scenario.parent)
        if record is not None:
            from skyhive.record.attach import attach_recorder

            recorder = attach_recorder(sim, record)
        source = LiveRunner(sim, speed=speed)
        what = f"'{s.name}' live ({s.n_drones:,} drones, x{speed:g})"
    try:
        run_server(source, host, port, tok, open_browser,
                   announce=lambda url: console.print(f"console for {what}: {url}  (Ctrl-C to stop)", soft_wrap=True))
    except OSError as exc:
        err.print(f"[red]cannot serve on {host}:{port}: {exc.strerror}[/red]")
        raise typer.Exit(code=2) from None
    finally:
        if recorder is not None:
            recorder.close()


@app.command()
def fly(
    scenario: ScenarioArg,
    until: Annotated[float | None, typer.Option(help="Stop at this time, s (default: the scenario's duration).")]
    = None,
    summary: Annotated[Path | None, typer.Option(help="Write the run and external-vehicle counters as JSON here.")]
    = None,
    record: Annotated[Path | None, typer.Option(help="Write an MCAP log here (Foxglove schemas).")] = None,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's random seed.")] = None,
) -> None:
    """Fly the scenario in real time: external PX4/ArduPilot vehicles (fleets with `external`) and simulated
    drones share one world and one safety layer (docs/vehicles.md)."""
    from skyhive.mavlink.fly import FlyLoop
    from skyhive.sim import Simulation

    s = _load(scenario, seed)
    n_ext = sum(len(f.external.endpoints) for f in s.fleets if f.external is not None)
    if n_ext == 0:
        err.print("[yellow]no fleet has an `external` section: nothing to fly; simulating in real time[/yellow]")
    sim = Simulation(s, base_dir=scenario.parent)
    loop = FlyLoop(sim, warn=lambda text: err.print(f"[yellow]{text}[/yellow]", soft_wrap=True))
    recorder = None
    if record is not None:
        from skyhive.record.attach import attach_recorder

        recorder = attach_recorder(sim, record)
    console.print(f"flying '{s.name}': {n_ext} external vehicle(s), {s.n_drones - n_ext} simulated drone(s); "
                  "Ctrl-C to send them home and stop", soft_wrap=True)
    sys.stdout.flush()
    stop = _StopOnSignal()
    try:
        loop.run(until=until, on_wall=lambda: loop.stop() if stop.requested else None)
    finally:
        stop.restore()
        loop.finish()
        if recorder is not None:
            recorder.close()
    metrics = loop.metrics()
    console.print(summary_table({k: v for k, v in metrics.items() if k.startswith(("external", "fly", "sim_time",
                                                                                   "loss_of_sep", "mission"))}))
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        write_summary_json(summary, metrics)


@app.command()
def bench(
    suites: Annotated[list[str] | None, typer.Argument(help="Suites to run (default: all available).")] = None,
    quick: Annotated[bool, typer.Option(help="Small sizes only (a smoke run).")] = False,
    markdown: Annotated[Path | None, typer.Option(help="Also write the tables as Markdown here.")] = None,
) -> None:
    """Print the benchmark tables for this machine."""
    from skyhive.bench import SUITES, BenchTable

    names = suites or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        err.print(f"[red]unknown suite(s): {', '.join(unknown)}; available: {', '.join(SUITES)}[/red]")
        raise typer.Exit(code=2)
    machine = f"{platform.node()} {platform.machine()} {_cpu_model()}, Python {platform.python_version()}"
    console.print(f"machine: {machine}; date: {time.strftime('%Y-%m-%d', time.gmtime())} UTC")
    md: list[str] = []
    for name in names:
        module, func = SUITES[name].split(":")
        try:
            suite = getattr(importlib.import_module(module), func)
        except ImportError as exc:
            err.print(f"[yellow]skipping {name}: {exc} (install the optional extra)[/yellow]")
            continue
        table: BenchTable = suite(quick)
        out = Table(title=table.title, title_justify="left")
        for c in table.columns:
            out.add_column(c, justify="right")
        for row in table.rows:
            out.add_row(*[str(v) for v in row])
        console.print(out)
        for note in table.notes:
            console.print(f"  [dim]{note}[/dim]")
        md += [f"### {table.title}", "", "| " + " | ".join(table.columns) + " |",
               "|" + "---|" * len(table.columns)]
        md += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.rows]
        md += [""] + [f"- {n}" for n in table.notes] + [""]
    if markdown is not None:
        markdown.write_text(f"machine: {machine}; date: {time.strftime('%Y-%m-%d')}\n\n" + "\n".join(md))


# -- experiments (issue 14): sweeps over parameters and seeds, and their report ----------------------------------
@app.command()
def sweep(
    scenario: Annotated[Path | None, typer.Argument(help="Scenario file (or give --file SWEEP.yaml).",
                                                    show_default=False)] = None,
    vary: Annotated[list[str] | None, typer.Option(
        help="PATH=V1,V2,... or PATH=start:stop:step (repeatable), e.g. fleets.rescue.count=4,8,12.")] = None,
    seeds: Annotated[str | None, typer.Option(help="Seeds, e.g. 0-49 or 0,3,7 (default: the scenario's).")] = None,
    until: Annotated[float | None, typer.Option(help="Stop each run at this simulated time, s.")] = None,
    jobs: Annotated[int | None, typer.Option(help="Runs at once (default: all cores; 1 = serial, in-process).",
                                             min=1)] = None,
    engine: Annotated[str | None, typer.Option(help="local (processes), dask or ray.")] = None,
    address: Annotated[str | None, typer.Option(
        help="An existing Dask scheduler (tcp://host:8786) or Ray cluster (host:6379, ray://host:10001).")] = None,
    out: Annotated[Path | None, typer.Option(help="Results folder (results.parquet); re-run to resume.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A sweep file (YAML) instead of the flags.")] = None,
    summaries: Annotated[bool, typer.Option(help="Also write each run's summary JSON to OUT/runs/.")] = False,
    record: Annotated[bool, typer.Option(help="Also write each run's MCAP log to OUT/runs/.")] = False,
    retry_errors: Annotated[bool, typer.Option(help="Re-run the runs that ended with an error.")] = False,
    report: Annotated[bool, typer.Option(help="Write the HTML report when the sweep ends.")] = False,
) -> None:
    """Run a scenario over a grid of parameter values and seeds; one row per run in OUT/results.parquet."""
    from skyhive.experiments import execute, plan_sweep
    from skyhive.experiments.sweepfile import load_sweep_file

    try:
        spec = load_sweep_file(file) if file is not None else None
    except ScenarioError as exc:
        _report_problems(exc)
        raise typer.Exit(code=2) from None
    if spec is not None and file is not None:
        scenario = scenario or spec.scenario_path(file)
        vary_arg: Any = dict(spec.vary)  # flags add to (or replace) the file's axes
        for item in vary or []:
            path, _, values = item.partition("=")
            vary_arg[path.strip()] = values
        seed_arg: Any = seeds if seeds is not None else spec.seeds
        until, jobs = until or spec.until, jobs or spec.jobs
        engine, address = engine or spec.engine, address or spec.address
    else:
        vary_arg, seed_arg = vary or [], seeds
    engine = engine or "local"
    if scenario is None or out is None:
        err.print("[red]give a SCENARIO (or --file SWEEP.yaml) and --out DIR[/red]")
        raise typer.Exit(code=2)
    try:
        plan = plan_sweep(scenario, vary_arg, seed_arg, until, out, engine, address, retry_errors)
    except ScenarioError as exc:
        _report_problems(exc)
        raise typer.Exit(code=2) from None
    done = len(plan.tasks) - len(plan.todo)
    console.print(f"sweep of {plan.source}: {len(plan.tasks):,} runs ({len(plan.axes)} varied parameter(s) x "
                  f"{len(plan.seeds)} seed(s)); {done:,} already in {out}, {len(plan.todo):,} to run on {engine}")
    errors = [0]
    interrupted = False
    with Progress(TextColumn("[bold]runs"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("{task.fields[errors]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console) as bar:
        task = bar.add_task("runs", total=len(plan.tasks), errors="")

        def progress(finished: int, total: int, row: dict[str, Any] | None) -> None:
            if row is not None and row.get("status") != "ok":
                errors[0] += 1
            bar.update(task, completed=finished, errors=f"[red]{errors[0]} error(s)[/red]" if errors[0] else "")

        try:
            table = execute(plan, jobs, engine, address, summaries, record, progress)
        except KeyboardInterrupt:
            interrupted = True
        except RuntimeError as exc:  # the engine could not start: not installed, cluster unreachable
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=2) from None
    if interrupted:
        assert plan.results is not None
        n = len(plan.results.rows)
        err.print(f"[yellow]interrupted: {n:,} run(s) are in {out / 'results.parquet'}; run the same command "
                  "again to go on[/yellow]")
        raise typer.Exit(code=130)
    rows = table.to_pylist()
    n_err = sum(1 for r in rows if r.get("status") != "ok")
    console.print(f"{len(rows):,} runs in {out / 'results.parquet'}" + (f", [red]{n_err} with an error[/red] "
                  "(see the error column)" if n_err else ""))
    if report:
        from skyhive.experiments.report import write_report

        console.print(f"report written to {write_report(out)}")


@app.command("report")
def report_command(
    folder: Annotated[Path, typer.Argument(help="A sweep's --out folder.", show_default=False)],
    metric: Annotated[list[str] | None, typer.Option(help="Only these metrics (repeatable; default: every "
                                                          "top-level metric that varies).")] = None,
    all_metrics: Annotated[bool, typer.Option(help="Also the nested metrics (per message kind, per status).")]
    = False,
) -> None:
    """Write FOLDER/report/index.html: each metric against each varied parameter, mean and 95 % CI over seeds."""
    from skyhive.experiments.report import ReportError, write_report

    try:
        path = write_report(folder, metric, all_metrics)
    except ReportError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from None
    console.print(f"report written to {path} (and {path.parent / 'report.md'})")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
