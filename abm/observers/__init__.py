"""Observers: processes in the last phase of the step that record a run (they change nothing)."""
