"""Bone: trabecular geometry, 2-D histomorphometry, the Komarova 2003 reference model and the
site-by-site view of remodelling cycles (the remodelling rules are in :mod:`abm.processes`)."""
