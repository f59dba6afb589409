"""Where the runs execute: local processes (joblib's loky pool), or a Dask or Ray cluster.

Each engine takes the shared RunSettings (the scenario document and options, shipped once per worker where the
engine allows it: ``scatter`` for Dask, ``put`` for Ray) and the tasks, and yields each run's row as soon as it
is done, in completion order.  Closing the iterator (Ctrl-C, an error) cancels what has not started and stops
the workers it started itself; an existing cluster named by ``address`` is left running.

A run that raises is already a row (runner.run_task).  A worker *process* that dies (a segfault, the kernel's
OOM killer) is handled per engine: the local pool re-runs the runs that were in flight one at a time, so only
the run that kills its worker alone becomes an error row; Dask re-runs a task whose worker died up to its
``allowed-failures`` (3) times, then reports it; Ray retries once.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from skyhive.experiments.grid import Task
from skyhive.experiments.runner import RunSettings, error_row, ignore_interrupts, run_task

Runner = Callable[[RunSettings, Task], dict[str, Any]]
ENGINES = ("local", "dask", "ray")
EXTRA = {"local": "experiments", "dask": "dask", "ray": "ray"}


class EngineError(RuntimeError):
    """The engine cannot start (not installed, cluster unreachable)."""


def check_engine(engine: str, address: str | None) -> None:
    """Fail early, before validation and runs, when the engine cannot be used."""
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "local" and address:
        raise EngineError("--address names a Dask scheduler or a Ray cluster; use it with --engine dask or ray")
    module = {"local": "joblib", "dask": "distributed", "ray": "ray"}[engine]
    try:
        __import__(module)
    except ImportError:
        raise EngineError(f"the {engine} engine needs {module}: pip install 'skyhive[{EXTRA[engine]}]'") from None


def run_rows(engine: str, settings: RunSettings, tasks: Sequence[Task], jobs: int, address: str | None = None,
             runner: Runner = run_task) -> Iterator[dict[str, Any]]:
    """The rows of ``tasks`` as they complete, on the chosen engine (``runner`` runs one task on a worker)."""
    check_engine(engine, address)
    if engine == "dask":
        return _dask_rows(settings, tasks, jobs, address, runner)
    if engine == "ray":
        return _ray_rows(settings, tasks, jobs, address, runner)
    return _local_rows(settings, tasks, jobs, runner)


def _local_rows(settings: RunSettings, tasks: Sequence[Task], jobs: int, runner: Runner
                ) -> Iterator[dict[str, Any]]:
    if jobs <= 1 or len(tasks) <= 1:  # in this process: the serial baseline, no pool to start
        for task in tasks:
            yield runner(settings, task)
        return
    from joblib.externals.loky import get_reusable_executor
    from joblib.externals.loky.process_executor import BrokenProcessPool

    executor = get_reusable_executor(max_workers=jobs, timeout=30, initializer=ignore_interrupts)
    pending: deque[Task] = deque(tasks)
    suspects: deque[Task] = deque()  # in flight when a worker died: re-run alone to find the one that kills it
    inflight: dict[Future[dict[str, Any]], tuple[Task, bool]] = {}
    try:
        while pending or inflight or suspects:
            if suspects:
                if not inflight:
                    task = suspects.popleft()
                    inflight[executor.submit(runner, settings, task)] = (task, True)
            else:
                while pending and len(inflight) < 2 * jobs:
                    task = pending.popleft()
                    inflight[executor.submit(runner, settings, task)] = (task, False)
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                task, alone = inflight.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool as exc:
                    broken = True
                    if alone:
                        yield error_row(task, f"the worker process died while running it: {exc}")
                    else:
                        suspects.append(task)
                except Exception as exc:
                    yield error_row(task, f"the local engine could not run it: {type(exc).__name__}: {exc}")
            if broken:
                for future, (task, _alone) in list(inflight.items()):
                    future.cancel()
                    suspects.append(task)
                inflight.clear()
                executor = get_reusable_executor(max_workers=jobs, timeout=30, initializer=ignore_interrupts)
    finally:
        if inflight:
            for future in inflight:
                future.cancel()
            executor.shutdown(wait=False, kill_workers=True)


def _dask_rows(settings: RunSettings, tasks: Sequence[Task], jobs: int, address: str | None, runner: Runner
               ) -> Iterator[dict[str, Any]]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if address:
            client = Client(address, timeout="20s")
        else:
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
    except OSError as exc:
        raise EngineError(f"cannot reach the Dask scheduler {address or '(local cluster)'}: {exc}") from None
    futures: dict[Any, Task] = {}
    sweep_key = uuid.uuid4().hex[:8]  # a shared cluster must never hand back another sweep's result for a key
    try:
        shared = client.scatter(settings, broadcast=True)
        for task in tasks:
            key = f"skyhive-run-{task.run_id}-{sweep_key}"
            futures[client.submit(runner, shared, task, pure=False, key=key)] = task
        for future in as_completed(list(futures)):
            task = futures.pop(future)
            if future.status == "finished":
                yield future.result()
            else:
                failure = future.exception()
                yield error_row(task, f"the Dask engine could not run it: {type(failure).__name__}: {failure}")
    finally:
        if futures:
            client.cancel(list(futures), force=True)
        client.close()
        if cluster is not None:
            cluster.close()


def _local_pythonpath() -> str:
    """Where this process imports skyhive from, for the workers of a Ray instance started here (they do not
    inherit ``sys.path``, only the environment)."""
    import os
    from pathlib import Path

    import skyhive

    here = str(Path(skyhive.__file__).resolve().parents[1])
    return os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)


def _ray_rows(settings: RunSettings, tasks: Sequence[Task], jobs: int, address: str | None, runner: Runner
              ) -> Iterator[dict[str, Any]]:
    import ray

    started = False
    if not ray.is_initialized():
        try:
            ray.init(address=address, num_cpus=None if address else jobs, include_dashboard=False,
                     log_to_driver=False, configure_logging=False,
                     runtime_env=None if address else {"env_vars": {"PYTHONPATH": _local_pythonpath()}})
        except (ConnectionError, RuntimeError) as exc:
            raise EngineError(f"cannot start or reach the Ray cluster {address or '(local)'}: {exc}") from None
        started = True
    remote = ray.remote(num_cpus=1, max_retries=1)(runner)
    refs: dict[Any, Task] = {}
    try:
        shared = ray.put(settings)
        for task in tasks:
            refs[remote.remote(shared, task)] = task
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                task = refs.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:
                    yield error_row(task, f"the Ray engine could not run it: {type(exc).__name__}: {exc}")
    finally:
        for ref in refs:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
