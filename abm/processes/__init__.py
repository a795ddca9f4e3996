"""Processes: each one physical or biological process, registered into a phase of the step.

A process is an object with a ``name`` and a ``step(model)`` method; processes that keep state
between steps also provide ``state_arrays()`` and ``load_state(arrays)`` for checkpoints.
"""
