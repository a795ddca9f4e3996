"""Mesa agent views of the cell table: one Agent subclass per cell type.

An agent holds only its slot; every attribute reads through to the cell table, so kernels and
agents always agree and nothing is copied per step. Agents are created at birth and removed at
death by :meth:`abm.model.MarrowModel.sync_agents`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import mesa

if TYPE_CHECKING:
    from abm.model import MarrowModel


class MarrowCell(mesa.Agent):
    """A living cell of the marrow model (a view onto one row of ``model.cells``).

    Extra per-cell state registered by processes (``model.cells.add_column``) reads as an
    attribute too: ``agent.<column name>``.
    """

    cell_type: ClassVar[str]
    model: MarrowModel

    def __init__(self, model: MarrowModel, slot: int):
        self.slot = slot
        super().__init__(model)

    @property
    def pos(self) -> tuple[int, int]:
        """Voxel coordinate ``(x, y)``, as Mesa's ``agent.pos``."""
        table, slot = self.model.cells, self._live_slot()
        return int(table["x"][slot]), int(table["y"][slot])

    @pos.setter
    def pos(self, value: None) -> None:
        if value is not None:
            raise AttributeError("a cell's position belongs to the cell table; kernels move cells")

    @property
    def position_um(self) -> tuple[float, float]:
        """Centre of the cell's voxel, µm from the section's corner."""
        x, y = self.pos
        voxel = self.model.config.domain.voxel_um
        return (x + 0.5) * voxel, (y + 0.5) * voxel

    @property
    def age_h(self) -> float:
        """Time since the cell's birth or last division, hours."""
        return float(self.model.cells["age_h"][self._live_slot()])

    def _live_slot(self) -> int:
        if self.slot < 0:
            raise RuntimeError(f"{type(self).__name__} {self.unique_id} has died")
        return self.slot

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: extra cell-table columns.
        if name.startswith("_") or name in ("slot", "model"):
            raise AttributeError(name)
        table = self.model.cells
        if name in table.columns:
            return table[name][self._live_slot()].item()
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

    def __repr__(self) -> str:
        where = self.pos if self.slot >= 0 else "dead"
        return f"<{type(self).__name__} {self.unique_id} at {where}>"


class PlasmaCell(MarrowCell):
    """A plasma cell (normal or clonal)."""

    cell_type = "plasma_cell"


class StromalCell(MarrowCell):
    """A marrow stromal cell (also the osteoprogenitor pool)."""

    cell_type = "stromal_cell"


class Osteoblast(MarrowCell):
    """A bone-forming osteoblast."""

    cell_type = "osteoblast"


class Osteoclast(MarrowCell):
    """A bone-resorbing osteoclast."""

    cell_type = "osteoclast"


class EndothelialCell(MarrowCell):
    """An endothelial cell lining a vessel voxel."""

    cell_type = "endothelial_cell"


AGENT_CLASSES: tuple[type[MarrowCell], ...] = (
    PlasmaCell,
    StromalCell,
    Osteoblast,
    Osteoclast,
    EndothelialCell,
)
"""Agent class of each cell-type code (``AGENT_CLASSES[code]``)."""
