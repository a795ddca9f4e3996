"""Batch-system clusters without a batch system: the SLURM and PBS job scripts of
``--dry-run``."""

from __future__ import annotations

import subprocess


def test_slurm_dry_run_prints_a_valid_job_script(write_sweep, run_cli, tmp_path):
    out = tmp_path / "never"
    result = run_cli(
        [
            "sweep", "run", write_sweep(), "--out", out, "--cluster", "slurm", "--dry-run",
            "--cluster-option", "walltime=00:30:00", "--cluster-option", "memory=2GB",
            "--cluster-option", "job_extra_directives=[--qos=short]",
        ]
    )
    assert result.returncode == 0, result.stderr
    script = result.stdout
    lines = [line for line in script.splitlines() if line.strip()]
    assert lines[0] == "#!/usr/bin/env bash"
    directives = [line for line in lines[1:] if line.startswith("#")]
    # sbatch reads directives only before the first command
    assert lines[1 : 1 + len(directives)] == directives
    assert all(line.startswith("#SBATCH ") for line in directives)
    assert "#SBATCH -t 00:30:00" in directives
    assert "#SBATCH --mem=2G" in directives
    assert "#SBATCH --cpus-per-task=1" in directives
    assert "#SBATCH --qos=short" in directives
    commands = lines[1 + len(directives) :]
    assert commands[0] == "export NUMBA_NUM_THREADS=1"
    assert "distributed.cli.dask_worker" in commands[-1]
    assert "--nthreads 1" in commands[-1]
    syntax = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert syntax.returncode == 0, syntax.stderr
    assert not out.exists()


def test_an_unknown_cluster_option_is_one_line(write_sweep, run_cli, tmp_path):
    result = run_cli(
        [
            "sweep", "run", write_sweep(), "--out", tmp_path / "x", "--cluster", "slurm",
            "--dry-run", "--cluster-option", "wallclock=1",
        ]
    )
    assert result.returncode == 2
    [message] = result.stderr.splitlines()
    assert message.startswith("--cluster slurm: ")
    assert "wallclock" in message


def test_pbs_dry_run_prints_pbs_directives(write_sweep, run_cli, tmp_path):
    result = run_cli(
        [
            "sweep", "run", write_sweep(), "--out", tmp_path / "never", "--cluster", "pbs",
            "--dry-run", "--cluster-option", "walltime=01:00:00",
        ]
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "#PBS -l walltime=01:00:00" in lines
    assert "#PBS -l select=1:ncpus=1:mem=3815MB" in lines  # 4 GB (decimal) in MiB
    assert lines.index("export NUMBA_NUM_THREADS=1") > max(
        i for i, line in enumerate(lines) if line.startswith("#PBS")
    )
