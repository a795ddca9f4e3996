"""Signal → behaviour rules: Hill curves of sensed concentrations multiply cells' rates.

Sensing phase, after HIF-1α. Each cell type's ``cells.<type>.rules`` (scenario) are compiled
once into arrays; one kernel (:func:`abm.cells.kernels.behaviour_folds`) then evaluates every
rule of every living cell from the fields in its voxel. The product of a behaviour's rules is
the cell's fold change of that behaviour, stored in the cell-table column ``<behaviour>_fold``
(1 for cell types without a rule on it). The processes that own the rates read the column:

- ``<species>_secretion``: transport multiplies the cell's secretion of the species;
- ``division``, ``death``: cell turnover multiplies the rates (p = 1 − exp(−k·fold·Δt));
- ``osteoblast_commitment``: osteoblast fates multiply a stromal cell's commitment rate.

A rule with H = s^n/(s^n + K^n) multiplies its rate by 1 + (F − 1)·H when the signal
increases it and by 1 − (1 − 1/F)·H when it decreases it (:class:`abm.scenario.schema.
ResponseRule`). Folds are updated once per step; transport at the start of the next step uses
them, and cells placed at t = 0 or born since carry fold 1 or their mother's folds until then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.cells import kernels
from abm.cells.table import CELL_TYPE_CODE, CellTable
from abm.scenario.schema import SIGNALS, Scenario

if TYPE_CHECKING:
    from abm.model import MarrowModel

NO_FOLD = np.zeros(0)
"""What :func:`fold` returns for a behaviour no rule changes (kernels read it as fold 1)."""


def fold_column(behaviour: str) -> str:
    """Cell-table column holding the fold change of ``behaviour``."""
    return f"{behaviour}_fold"


def fold(table: CellTable, behaviour: str) -> np.ndarray:
    """The cells' fold change of ``behaviour`` (its table column), or :data:`NO_FOLD`."""
    name = fold_column(behaviour)
    return table[name] if name in table.columns else NO_FOLD


def ruled_behaviours(scenario: Scenario) -> list[str]:
    """Behaviours at least one rule changes, in order of first appearance."""
    return list(dict.fromkeys(
        rule.behaviour for _, spec in scenario.cells.items() for rule in spec.rules
    ))


class SignalResponses:
    """Evaluate every cell's response rules once per step (sensing phase).

    Attributes:
        behaviours: the ruled behaviours, in the row order of the kernel's fold array.
        signals: the sensed layers, in the row order of the kernel's signal stack.
        mean_folds: mean fold of each behaviour over the living cells of each ruled type after
            the last step, as ``{"<type>_<behaviour>_fold_mean": value}`` (1 before it).
    """

    name = "signal_responses"

    def __init__(self, model: MarrowModel):
        scenario = model.config
        self.behaviours = ruled_behaviours(scenario)
        rules = [
            (CELL_TYPE_CODE[name], rule) for name, spec in scenario.cells.items()
            for rule in spec.rules
        ]
        self.signals = [s for s in SIGNALS if any(rule.signal == s for _, rule in rules)]
        self.rule_type = np.array([code for code, _ in rules], dtype=np.int8)
        self.rule_signal = np.array(
            [self.signals.index(rule.signal) for _, rule in rules], dtype=np.int64
        )
        self.rule_behaviour = np.array(
            [self.behaviours.index(rule.behaviour) for _, rule in rules], dtype=np.int64
        )
        self.rule_half_max = np.array([rule.half_max for _, rule in rules])
        self.rule_hill = np.array([rule.hill_power for _, rule in rules])
        self.rule_gain = np.array([rule.saturated_gain for _, rule in rules])
        self._readout_keys = [
            (code, self.behaviours.index(b), f"{name}_{b}_fold_mean")
            for name, code, b in dict.fromkeys(
                (name, code, rule.behaviour) for name, spec in scenario.cells.items()
                for rule in spec.rules for code in (CELL_TYPE_CODE[name],)
            )
        ]
        self.mean_folds = {key: 1.0 for _, _, key in self._readout_keys}
        self._signal_stack = np.zeros((len(self.signals), *scenario.domain.shape))
        for behaviour in self.behaviours:
            model.cells.add_column(
                fold_column(behaviour), np.float64, 1.0, inherited=True, unit="fold change"
            )

    def step(self, model: MarrowModel) -> None:
        """Recompute every living cell's folds from this step's fields."""
        if not self.behaviours:
            return
        table = model.cells
        for k, name in enumerate(self.signals):
            np.copyto(self._signal_stack[k], model.fields[name])
        n = table.n_slots
        folds = np.empty((len(self.behaviours), n))
        kernels.behaviour_folds(
            table["alive"], table["cell_type"], table["x"], table["y"], n, self._signal_stack,
            self.rule_type, self.rule_signal, self.rule_behaviour, self.rule_half_max,
            self.rule_hill, self.rule_gain, folds,
        )
        for b, behaviour in enumerate(self.behaviours):
            table[fold_column(behaviour)][:] = folds[b]
        alive, cell_type = table["alive"], table["cell_type"]
        for code, b, key in self._readout_keys:
            mine = alive & (cell_type == code)
            self.mean_folds[key] = float(folds[b, mine].mean()) if mine.any() else 1.0

    def readouts(self) -> dict[str, float]:
        """Mean fold change of each ruled behaviour of each cell type."""
        return dict(self.mean_folds)
