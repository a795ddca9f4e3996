"""Fields: per-voxel layers (stack), the transport solver, sources and ligand binding."""
