"""Run progress reporting to standard error."""

from __future__ import annotations

from abm.observers.progress import RunProgress


def test_lines_mode_prints_a_line_per_tenth(capsys):
    with RunProgress("lines", label="demo", start_step=0, total_steps=100, step_h=1.0) as bar:
        for step in range(1, 101):
            bar.update(step)
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 11  # the start, then every 10 %
    assert lines[0].startswith("[demo] step 0/100  t = 0 h")
    assert lines[-1].startswith("[demo] step 100/100  t = 4.2 d")
    assert all("steps/s" in line and "ETA" in line for line in lines)


def test_lines_mode_resumed_half_way(capsys):
    with RunProgress("lines", label="r", start_step=50, total_steps=100, step_h=2.0) as bar:
        for step in range(51, 101):
            bar.update(step)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("[r] step 50/100  t = 4.2 d")


def test_off_mode_prints_nothing(capsys):
    with RunProgress("off", label="x", start_step=0, total_steps=10, step_h=1.0) as bar:
        for step in range(1, 11):
            bar.update(step)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
