"""Analysis of run directories: metrics and figures. Reads runs through ``abm.io`` only; it never
imports the model."""
