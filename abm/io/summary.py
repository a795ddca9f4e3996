"""A human-readable summary of a run directory (``abm info``)."""

from __future__ import annotations

from pathlib import Path

from abm.io.errors import RunDirectoryError
from abm.io.rundir import RunDirectory


def summarize_run(path: Path) -> list[str]:
    """Lines describing a run: scenario, progress, provenance, outputs, last readouts.

    Raises:
        RunDirectoryError: not a run directory, or a corrupt manifest or time series.
    """
    run_dir = RunDirectory.open(path)
    m = run_dir.read_manifest()
    step_h = float(m.get("step_h", 1.0))
    done, target = int(m.get("steps_completed", 0)), int(m.get("steps_target", 0))
    lines = [
        f"run directory   {run_dir.path}",
        f"status          {m['status']}",
        f"scenario        {m.get('scenario_source', '?')}"
        + (f"  (--set {' '.join(m['overrides'])})" if m.get("overrides") else ""),
        f"description     {m.get('scenario', {}).get('description', '')}",
        f"seed            {m.get('seed', '?')}",
        f"lattice         {'x'.join(map(str, m.get('lattice_shape', [])))} voxels of"
        f" {m.get('voxel_um', '?')} µm",
        f"progress        step {done}/{target}  (t = {done * step_h / 24:.2f} d of"
        f" {target * step_h / 24:.2f} d, step {step_h:g} h)",
    ]
    sessions = m.get("sessions", [])
    if sessions:
        wall = sum(s.get("wall_time_s") or 0.0 for s in sessions)
        lines.append(f"wall time       {wall:.1f} s over {len(sessions)} session(s)")
    versions = m.get("versions", {})
    lines.append(
        "versions        "
        + ", ".join(f"{k} {versions[k]}" for k in ("marrow-abm", "mesa", "numba", "python")
                    if versions.get(k))
    )
    git = m.get("git")
    if git:
        lines.append(f"git             {git['revision'][:12]}{' (dirty)' if git['dirty'] else ''}")
    schedule = m.get("schedule", {})
    if schedule:
        phases = "; ".join(f"{phase}: {', '.join(p)}" for phase, p in schedule.items() if p)
        lines.append(f"schedule        {phases}")
    checkpoints = run_dir.list_checkpoints()
    lines.append(
        f"checkpoints     {len(checkpoints)}"
        + (f" (last at step {checkpoints[-1]})" if checkpoints else "")
    )
    if (run_dir.path / RunDirectory.FIELDS).exists():
        store = run_dir.snapshots
        lines.append(f"snapshots       {len(store)} of {', '.join(store.layer_names)}")
    if (run_dir.path / RunDirectory.TIMESERIES).exists():
        table = run_dir.read_timeseries()
        lines.append(f"time series     {table.num_rows} rows x {table.num_columns} columns")
        if table.num_rows:
            last = {name: table.column(name)[-1].as_py() for name in table.column_names}
            cells = ", ".join(
                f"{k.removeprefix('n_')} {v}" for k, v in last.items() if k.startswith("n_")
            )
            lines.append(f"last row        t = {last.get('time_d', 0):.2f} d: {cells}")
            if "bone_volume_fraction" in last:
                lines.append(f"                BV/TV = {last['bone_volume_fraction']:.4f}")
    elif m["status"] == "completed":
        raise RunDirectoryError(run_dir.path / RunDirectory.TIMESERIES, "missing")
    else:
        lines.append("time series     none yet (written at each checkpoint)")
    return lines
