"""Vessel permeability: Starling filtration across the vessel wall, raised by VEGF.

Sensing phase. Each step reads the VEGF next to every lumen–marrow wall face (a face is
voxel_um × voxel_um of wall: the section is one voxel deep; kernel
:func:`abm.cells.kernels.wall_conductivity_fold`) and gives the section's filtration at
constant Starling pressures (``permeability``, REFERENCE 2.8):

    Jv/S = Lp0 · (1 + (F − 1) · V/(V + K_V)) · [(Pc − Pi) − σ (πc − πi)]

with V the VEGF the endothelium senses (× ``angiogenesis.vegfr2_signalling_fraction``).

Chronically high VEGF raises Lp up to F-fold with σ unchanged (Bates 1996/1998), so the flux
per wall area rises by the same factor (REFERENCE §3 target 23). The filtration is a readout of
the marrow's vessels; the whole-body leak index is :mod:`abm.systemic`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.cells import kernels
from abm.scenario import units

if TYPE_CHECKING:
    from abm.model import MarrowModel


class VesselPermeability:
    """Wall conductivity and filtration of the section's vessels after each transport step.

    Attributes:
        wall_faces: lumen–marrow faces (each voxel_um × voxel_um of wall).
        conductivity_fold_mean: mean Lp/Lp0 over those faces (1 without VEGF; 0 if no faces).
    """

    name = "vessel_permeability"

    def __init__(self, model: MarrowModel):
        rules = model.config.permeability
        domain = model.config.domain
        self.baseline_conductivity = rules.baseline_conductivity_um_per_s_per_mmHg
        self.max_fold = rules.vegf_max_conductivity_fold
        signalling = model.config.angiogenesis.vegfr2_signalling_fraction
        # occupancy(f·V, K) = occupancy(V, K/f): blocked receptors (f = 0) never occupy
        self.half_occupancy = (
            rules.vegfr2_half_occupancy_pg_per_mL / signalling if signalling > 0 else np.inf
        )
        self.net_pressure_mmHg = rules.net_filtration_pressure_mmHg
        self.periodic = domain.boundary == "periodic"
        self.section_depth_um = domain.voxel_um
        self.n_voxels = model.config.n_voxels
        self.wall_faces = 0
        self.conductivity_fold_mean = 0.0

    def step(self, model: MarrowModel) -> None:
        """Sum Lp/Lp0 over the wall faces at this step's VEGF."""
        self.wall_faces, fold_sum = kernels.wall_conductivity_fold(
            model.fields.tissue, model.fields["vegf"], self.half_occupancy, self.max_fold,
            self.periodic,
        )
        self.conductivity_fold_mean = fold_sum / self.wall_faces if self.wall_faces else 0.0

    @property
    def filtration_um_per_s(self) -> float:
        """Mean filtration flux per wall area Jv/S, µm/s (= µm³ of fluid per µm² per s)."""
        return self.baseline_conductivity * self.conductivity_fold_mean * self.net_pressure_mmHg

    def readouts(self) -> dict[str, float]:
        """Wall conductivity fold, flux per wall area, and filtration per section volume
        (µL/h per mm³ of section: faces × flux × face area over the section volume)."""
        per_volume_per_s = (
            self.wall_faces * self.filtration_um_per_s / (self.n_voxels * self.section_depth_um)
        )
        return {
            "vessel_conductivity_fold_mean": self.conductivity_fold_mean,
            "capillary_filtration_um_per_s": self.filtration_um_per_s,
            "capillary_filtration_uL_per_h_per_mm3": per_volume_per_s * units.SECONDS_PER_HOUR,
        }
