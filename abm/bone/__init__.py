"""Bone: mineralized-tissue geometry (remodelling processes arrive with the bone issue)."""
