"""Batch experiments: sweep files, designs, Dask execution, the sweep index, aggregation and
sensitivity analysis (``abm sweep``; see docs/batch.md).

Nothing here imports Dask, SALib or matplotlib at import time; the modules that need them
import them inside the functions that do.
"""
