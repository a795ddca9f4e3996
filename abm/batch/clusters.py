"""Where a sweep runs: a local Dask cluster, a SLURM or PBS cluster (dask-jobqueue), or an
existing Dask scheduler.

Every worker this module starts is a single-threaded process with ``NUMBA_NUM_THREADS=1`` in
its environment before numba is imported (oversubscribed numba threads were measured 8–15×
slower here, DESIGN.md decision 9): a ``LocalCluster`` passes it to each nanny's ``env`` (set
in the worker process before it imports any task code), a job script exports it before the
worker command. Workers of an existing scheduler are started by someone else: start them with
``NUMBA_NUM_THREADS=1 dask worker ADDRESS --nthreads 1``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

WORKER_ENVIRONMENT = {"NUMBA_NUM_THREADS": "1"}
"""Environment of every worker process started here."""

JOB_DEFAULTS: dict[str, Any] = {"cores": 1, "processes": 1, "memory": "4GB"}
"""dask-jobqueue job options unless ``--cluster-option`` says otherwise: one single-threaded
worker per job (a run of the 2 mm POEMS section needs well under 4 GB)."""

CONNECT_TIMEOUT_S = 30
"""Seconds to wait for an existing scheduler to answer."""

ClusterKind = Literal["slurm", "pbs"]


class ClusterError(Exception):
    """A cluster that cannot be built or reached; ``str()`` is one line for the user."""


def parse_cluster_options(texts: Sequence[str]) -> dict[str, Any]:
    """``key=value`` options (values read as YAML: ``cores=2``, ``walltime=01:00:00``,
    ``job_extra_directives=[--qos=short]``)."""
    options = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise ClusterError(f"--cluster-option {text}: expected KEY=VALUE")
        try:
            options[key.strip()] = YAML(typ="safe", pure=True).load(value)
        except (YAMLError, ValueError):
            raise ClusterError(f"--cluster-option {text}: cannot parse value {value!r}") from None
    return options


def jobqueue_cluster(kind: ClusterKind, options: dict[str, Any]) -> Any:
    """A dask-jobqueue cluster (no workers yet) whose job script exports the worker
    environment before starting the worker.

    Raises:
        ClusterError: an option dask-jobqueue does not accept.
    """
    from dask_jobqueue import PBSCluster, SLURMCluster

    cluster_class = {"slurm": SLURMCluster, "pbs": PBSCluster}[kind]
    exports = [f"export {name}={value}" for name, value in WORKER_ENVIRONMENT.items()]
    settings = {**JOB_DEFAULTS, **options}
    settings["job_script_prologue"] = [*exports, *settings.get("job_script_prologue", [])]
    try:
        return cluster_class(**settings)
    except (TypeError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ClusterError(f"--cluster {kind}: {first_line}") from None


@contextlib.contextmanager
def sweep_client(
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: ClusterKind | None = None,
    cluster_options: dict[str, Any] | None = None,
) -> Iterator[Any]:
    """A ``distributed.Client`` on the chosen cluster, closed (with the cluster it started)
    on exit.

    Args:
        workers: local worker processes [default: one per core], or jobs of a SLURM/PBS
            cluster [default: 1]; ignored for an existing scheduler.
        scheduler: address of an existing scheduler (``tcp://host:port``).
        cluster: start workers as SLURM or PBS jobs with ``cluster_options``.

    Raises:
        ClusterError: the scheduler cannot be reached or the cluster options are invalid.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        with client:
            yield client
        return
    if cluster is not None:
        started = jobqueue_cluster(cluster, cluster_options or {})
        started.scale(workers or 1)
    else:
        started = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            env=WORKER_ENVIRONMENT,
            # No dashboard, and the scheduler's HTTP endpoints on a free port: several
            # clusters (other sweeps, other users) may share the machine.
            scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"},
            silence_logs=logging.ERROR,
        )
    with started, Client(started) as client:
        yield client
