"""Fields: the stack of per-voxel concentration layers (Mesa PropertyLayers)."""

from abm.fields.stack import FieldStack

__all__ = ["FieldStack"]
