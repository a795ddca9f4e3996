"""The scenario schema: every key a scenario file may contain, with its unit and bounds.

Units live in key names (``half_life_h``, ``voxel_um``, ``death_rate_per_day``). The model never
reads these keys directly: :mod:`abm.scenario.units` and the ``*_steps`` / ``*_per_step``
properties below convert them once, at load, to the model's internal units (hours, µm, voxels,
steps). Scientific defaults deliberately do not live here: they live in ``scenarios/base.yaml``,
next to the citation of the ``REFERENCE.md`` row they come from.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from abm.scenario import units
from abm.scenario.errors import did_you_mean

NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]

CELL_TYPES: tuple[str, ...] = (
    "plasma_cell",
    "stromal_cell",
    "osteoblast",
    "osteoclast",
    "endothelial_cell",
)
"""The five cell types, in the order of their integer codes in the cell table."""

FIELD_SPECIES: tuple[str, ...] = (
    "oxygen",
    "vegf",
    "il6",
    "il1b",
    "opg",
    "rankl",
    "osteogenic_signal",
    "tgfb",
    "dkk1",
)
"""Diffusing species, in the order of the field stack. Bone matrix (mineral and osteoid) is a
separate, non-diffusing pair of layers built from ``domain.initial_bone``."""

BONE_LAYER = "bone_mineral"
"""Name of the per-voxel mineralized-bone fraction layer (0–1, dimensionless)."""

OSTEOID_LAYER = "osteoid"
"""Name of the per-voxel osteoid (unmineralized new matrix) fraction layer (0–1); mineral +
osteoid never exceeds 1."""

VESSEL_LAYER = "vessel_lumen"
"""Name of the per-voxel vessel-lumen layer (1 inside a perfused vessel, else 0)."""

FREE_RANKL_LAYER = "rankl_free"
"""Name of the derived layer of free soluble RANKL (pM): total RANKL minus the OPG-bound part."""

LAYERS: tuple[str, ...] = (
    *FIELD_SPECIES, BONE_LAYER, OSTEOID_LAYER, VESSEL_LAYER, FREE_RANKL_LAYER
)
"""Every per-voxel layer of a model, in field-stack order."""

TISSUES: tuple[str, ...] = ("marrow", "mineralized_bone", "vessel_lumen")
"""Tissue classes of a voxel, in the order of their codes in the tissue map."""


def _require_known(names, known: tuple[str, ...], what: str) -> None:
    """Raise ``ValueError`` (with a did-you-mean hint) for the first of ``names`` not in
    ``known``."""
    for name in names:
        if name not in known:
            raise ValueError(
                f"unknown {what} {name!r}; valid: {', '.join(known)}" + did_you_mean(name, known)
            )


class Strict(BaseModel):
    """Base of every scenario section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# --------------------------------------------------------------------------- domain


class NoBone(Strict):
    """No initial bone: the whole section is marrow."""

    kind: Literal["none"]


class BoneFromFile(Strict):
    """Initial bone mineral fraction read from a ``.npy`` file (2-D, values in 0–1) or a
    greyscale image (``.png``, ``.tif``, ``.bmp``; white = fully mineralized).

    A ``.npy`` array is indexed ``[x, y]``; an image reads as seen (column = x, row from the top
    = y; :mod:`abm.fields.files`). Either must have the lattice's shape. A relative ``path`` is
    resolved against the directory of the scenario file that names it.
    """

    kind: Literal["file"]
    path: str = Field(min_length=1)


class TrabecularNetwork(Strict):
    """A procedural, seeded network of trabecular struts (plates and rods cut by the section).

    Built by :func:`abm.bone.trabeculae.trabecular_network` from the model's random generator;
    bone voxels are fully mineralized (fraction 1), the rest is marrow.
    """

    kind: Literal["trabecular"]
    bone_volume_fraction: Annotated[float, Field(gt=0.0, lt=0.6)] = Field(
        description="Target BV/TV (fraction of voxels that are bone)."
    )
    trabecular_thickness_um: Positive = Field(description="Target mean strut thickness, µm.")


InitialBone = Annotated[
    NoBone | BoneFromFile | TrabecularNetwork, Field(discriminator="kind")
]


class NoVessels(Strict):
    """No vessels in the section."""

    kind: Literal["none"]


class VesselsFromFile(Strict):
    """Vessel lumen voxels read from a ``.npy`` file or a greyscale image (2-D, lattice shape,
    1 or white = lumen, 0 = not; orientation as in :mod:`abm.fields.files`).

    A relative ``path`` is resolved against the directory of the scenario file that names it.
    """

    kind: Literal["file"]
    path: str = Field(min_length=1)


class VesselCrossSections(Strict):
    """Vessels crossing the section plane: discs of lumen on a randomly jittered square lattice.

    A 2-D section through marrow cuts sinusoids and capillaries roughly across, so each vessel
    is a disc (the Krogh-cylinder picture of tissue oxygenation). Centres sit at
    ``spacing_um`` on a square lattice, each displaced uniformly by up to ``jitter`` × spacing
    / 2 along each axis (from the model's random generator); voxels whose centre lies within
    ``radius_um`` of a centre are lumen (at least the voxel containing the centre).
    """

    kind: Literal["cross_sections"]
    spacing_um: Positive = Field(description="Distance between neighbouring vessel centres, µm.")
    radius_um: Positive = Field(description="Lumen radius, µm.")
    jitter: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        description="Random displacement of each centre, as a fraction of half the spacing."
    )


InitialVessels = Annotated[
    NoVessels | VesselsFromFile | VesselCrossSections, Field(discriminator="kind")
]


class Domain(Strict):
    """The simulated tissue section: a 2-D lattice of square voxels."""

    voxel_um: Positive = Field(description="Edge length of one square voxel, µm.")
    size_um: tuple[Positive, Positive] = Field(
        description="Section width (x) and height (y) in µm; each a whole number of voxels."
    )
    boundary: Literal["periodic", "closed"] = Field(
        description="Cell movement at the section edge: wrap around (periodic) or stop (closed)."
    )
    initial_bone: InitialBone = Field(description="Initial mineralized bone geometry.")
    vessels: InitialVessels = Field(description="Initial perfused vessel geometry.")

    @field_validator("size_um")
    @classmethod
    def _whole_voxels(cls, size: tuple[float, float], info: ValidationInfo):
        voxel = info.data.get("voxel_um")
        if voxel is not None:
            for axis, length in zip("xy", size, strict=True):
                n = length / voxel
                if not _is_whole(n) or round(n) < 2:
                    raise ValueError(
                        f"{axis} size {length:g} µm is not a whole number (≥ 2) of "
                        f"{voxel:g} µm voxels"
                    )
        return size

    @field_validator("initial_bone")
    @classmethod
    def _bone_file_fits(cls, bone: NoBone | BoneFromFile, info: ValidationInfo):
        size, voxel = info.data.get("size_um"), info.data.get("voxel_um")
        if isinstance(bone, BoneFromFile) and size is not None and voxel is not None:
            from abm.fields.files import read_fraction_file

            shape = (round(size[0] / voxel), round(size[1] / voxel))
            read_fraction_file(bone.path, shape)  # raises ValueError with a one-line reason
        return bone

    @field_validator("vessels")
    @classmethod
    def _vessel_file_fits(cls, vessels, info: ValidationInfo):
        size, voxel = info.data.get("size_um"), info.data.get("voxel_um")
        if isinstance(vessels, VesselsFromFile) and size is not None and voxel is not None:
            from abm.fields.files import read_fraction_file

            shape = (round(size[0] / voxel), round(size[1] / voxel))
            read_fraction_file(vessels.path, shape)  # raises ValueError with a one-line reason
        return vessels

    @property
    def shape(self) -> tuple[int, int]:
        """Lattice shape ``(nx, ny)`` in voxels."""
        return (round(self.size_um[0] / self.voxel_um), round(self.size_um[1] / self.voxel_um))

    @property
    def voxel_area_um2(self) -> float:
        """Area of one voxel, µm²."""
        return self.voxel_um**2

    @property
    def voxel_volume_um3(self) -> float:
        """Volume of one voxel, µm³: the section is one voxel thick (about one cell per voxel)."""
        return self.voxel_um**3


# --------------------------------------------------------------------------- time


def _is_whole(x: float) -> bool:
    return abs(x - round(x)) <= 1e-9 * max(1.0, abs(x))


class Time(Strict):
    """Model step, run length and how often to record. Every interval is a whole number of steps."""

    step_h: Positive = Field(description="Model time step, hours.")
    duration_d: Positive = Field(description="Simulated time of a run, days.")
    record_interval_h: Positive = Field(description="Time-series row interval, hours.")
    snapshot_interval_h: Positive = Field(description="Field snapshot interval, hours.")
    checkpoint_interval_h: Positive = Field(description="Checkpoint interval, hours.")

    @field_validator(
        "duration_d", "record_interval_h", "snapshot_interval_h", "checkpoint_interval_h"
    )
    @classmethod
    def _whole_steps(cls, value: float, info: ValidationInfo) -> float:
        step_h = info.data.get("step_h")
        if step_h is None:
            return value
        hours = value * units.HOURS_PER_DAY if info.field_name == "duration_d" else value
        steps = hours / step_h
        if not _is_whole(steps) or round(steps) < 1:
            raise ValueError(
                f"{value:g} is {steps:g} steps of {step_h:g} h; it must be a whole number of steps"
            )
        return value

    def steps(self, hours: float) -> int:
        """Number of model steps in ``hours`` (exact: validated at load)."""
        return round(hours / self.step_h)

    @property
    def duration_steps(self) -> int:
        """Run length in steps."""
        return self.steps(self.duration_d * units.HOURS_PER_DAY)

    @property
    def record_every_steps(self) -> int:
        """Steps between time-series rows."""
        return self.steps(self.record_interval_h)

    @property
    def snapshot_every_steps(self) -> int:
        """Steps between field snapshots."""
        return self.steps(self.snapshot_interval_h)

    @property
    def checkpoint_every_steps(self) -> int:
        """Steps between checkpoints."""
        return self.steps(self.checkpoint_interval_h)


# --------------------------------------------------------------------------- fields


class TissueMultipliers(Strict):
    """A factor per tissue class, multiplying a species' marrow value."""

    marrow: NonNegative
    mineralized_bone: NonNegative
    vessel_lumen: NonNegative

    def values(self) -> tuple[float, float, float]:
        """The factors in tissue-code order (:data:`TISSUES`)."""
        return tuple(getattr(self, name) for name in TISSUES)


class PeriodicEdge(Strict):
    """The edge wraps to the opposite edge (which must be periodic too)."""

    kind: Literal["periodic"]


class NoFluxEdge(Strict):
    """Nothing crosses the edge."""

    kind: Literal["no_flux"]


class FixedEdge(Strict):
    """The concentration just outside the edge is held at ``value`` (in the species' unit)."""

    kind: Literal["fixed"]
    value: NonNegative


Edge = Annotated[PeriodicEdge | NoFluxEdge | FixedEdge, Field(discriminator="kind")]


class Boundary(Strict):
    """Boundary condition of each edge of the lattice (x: first axis, y: second)."""

    x_min: Edge
    x_max: Edge
    y_min: Edge
    y_max: Edge

    @field_validator("x_max", "y_max")
    @classmethod
    def _periodic_pairs(cls, edge, info: ValidationInfo):
        axis = info.field_name[0]
        low = info.data.get(f"{axis}_min")
        if low is not None and (low.kind == "periodic") != (edge.kind == "periodic"):
            raise ValueError(f"{axis}_min and {axis}_max must both be periodic or neither")
        return edge

    def edges(self) -> tuple[Edge, Edge, Edge, Edge]:
        """The four edges in the order ``x_min, x_max, y_min, y_max``."""
        return (self.x_min, self.x_max, self.y_min, self.y_max)


class Solver(Strict):
    """How a species is advanced each model step."""

    mode: Literal["implicit", "quasi_steady"] = Field(
        description="implicit: backward Euler over the step (in `substeps` equal parts);"
        " quasi_steady: the steady state of the step's sources (species that equilibrate in"
        " seconds to minutes, e.g. oxygen)."
    )
    substeps: int = Field(ge=1, le=100_000, description="Backward-Euler steps per model step.")
    relative_tolerance: Annotated[float, Field(gt=0.0, le=1e-3)] = Field(
        description="Stop the iterative solve when ||residual||2 <= this x ||right-hand side||2"
        " (quasi_steady), or this x k.dt/(1 + k.dt) x ||right-hand side||2 (implicit; k.dt = step"
        " x mean loss rate, so a slowly approaching field cannot stall; docs/transport.md)."
    )


class FieldSpecies(Strict):
    """One diffusing species. Concentrations are in the species' stated ``unit``.

    Per-cell rates (``cells.<type>.secretion_per_h`` / ``consumption_per_h``) are amounts: pg
    for pg/mL species, amol for pM species and for oxygen (mmHg, converted with
    ``solubility_uM_per_mmHg``), and a.u.·mL for a.u. species. Each is spread over the cell's
    voxel volume.
    """

    unit: Literal["mmHg", "pg/mL", "pM", "a.u."] = Field(
        description="Unit of every concentration of this species (oxygen as partial pressure)."
    )
    initial_value: NonNegative = Field(description="Uniform initial value, in `unit`.")
    diffusion_um2_per_s: NonNegative = Field(description="Diffusion coefficient in marrow, µm²/s.")
    diffusion_multiplier: TissueMultipliers = Field(
        description="Diffusion coefficient of each tissue relative to marrow."
    )
    half_life_h: Positive | None = Field(
        description="Half-life of free ligand in tissue, hours (null: no first-order decay)."
    )
    boundary: Boundary = Field(description="Boundary condition of each lattice edge.")
    solver: Solver
    blood_value: NonNegative = Field(description="Concentration in blood, in `unit`.")
    vessel_exchange_rate_per_s: NonNegative = Field(
        description="Exchange with blood in vessel-lumen voxels, 1/s: a term"
        " rate x (blood_value - c) (wall permeability x lumen surface/volume)."
    )
    background_consumption_per_h: NonNegative = Field(
        description="Consumption by each marrow voxel without an agent (its non-modelled marrow"
        " cell), amount per cell per hour (see the class note for amount units)."
    )
    external_production_per_h: NonNegative = Field(
        description="Production in every voxel by a source the model does not hold as cells"
        " (Pivonka's external RANKL P_RANKL, an infusion), in `unit` per hour."
    )
    half_saturation: NonNegative = Field(
        description="Michaelis-Menten constant of all consumption (cells and background), in"
        " `unit`; 0 makes consumption zero-order."
    )
    solubility_uM_per_mmHg: Positive | None = Field(
        default=None,
        description="For species in mmHg: dissolved concentration per mmHg, µM/mmHg.",
    )

    @field_validator("solubility_uM_per_mmHg")
    @classmethod
    def _solubility_for_mmhg(cls, value, info: ValidationInfo):
        unit = info.data.get("unit")
        if unit == "mmHg" and value is None:
            raise ValueError("a species in mmHg needs solubility_uM_per_mmHg")
        if unit is not None and unit != "mmHg" and value is not None:
            raise ValueError(f"only species in mmHg take a solubility (this one is in {unit})")
        return value

    @property
    def decay_rate_per_h(self) -> float:
        """First-order decay rate, 1/h (0 when there is no decay)."""
        return 0.0 if self.half_life_h is None else units.half_life_to_rate(self.half_life_h)


class Fields(Strict):
    """The field stack: one entry per diffusing species."""

    oxygen: FieldSpecies
    vegf: FieldSpecies
    il6: FieldSpecies
    il1b: FieldSpecies
    opg: FieldSpecies
    rankl: FieldSpecies
    osteogenic_signal: FieldSpecies
    tgfb: FieldSpecies
    dkk1: FieldSpecies

    def items(self) -> list[tuple[str, FieldSpecies]]:
        """``(name, spec)`` pairs in field-stack order."""
        return [(name, getattr(self, name)) for name in FIELD_SPECIES]


# --------------------------------------------------------------------------- cells


class UniformPlacement(Strict):
    """Place cells on free marrow voxels drawn uniformly at random."""

    kind: Literal["uniform"]


class FociPlacement(Strict):
    """Place cells in ``n_foci`` clusters: foci centres uniform on marrow, cells within a disc."""

    kind: Literal["foci"]
    n_foci: int = Field(ge=1, description="Number of foci (clone seeding sites).")
    radius_um: Positive = Field(description="Radius of the disc around each focus centre, µm.")


class BoneSurfacePlacement(Strict):
    """Place cells on free marrow voxels that touch mineralized bone (4-neighbourhood)."""

    kind: Literal["bone_surface"]


Placement = Annotated[
    UniformPlacement | FociPlacement | BoneSurfacePlacement, Field(discriminator="kind")
]


SIGNALS: tuple[str, ...] = (*FIELD_SPECIES, FREE_RANKL_LAYER)
"""What a response rule can sense: the concentration of a field (in the field's unit) in the
cell's voxel; ``rankl_free`` is RANKL not bound by OPG."""

BEHAVIOURS: tuple[str, ...] = (
    "division", "death", "osteoblast_commitment", "osteoblast_apoptosis",
    *(f"{s}_secretion" for s in FIELD_SPECIES),
)
"""What a response rule can change: the division or death rate, a stromal cell's osteoblast
commitment rate (``bone.osteoblasts``), the pace of an active osteoblast's apoptosis programme
(which ends its active phase), or the secretion rate of one species."""

BEHAVIOUR_OWNERS: dict[str, tuple[str, str]] = {
    "osteoblast_commitment": ("stromal_cell", "stromal cells only (the osteoprogenitor pool)"),
    "osteoblast_apoptosis": ("osteoblast", "osteoblasts only (it ends their active phase)"),
}
"""Behaviours only one cell type has: the type, and how an error message names it."""


class ResponseRule(Strict):
    """A signal → behaviour rule: a Hill curve of one sensed concentration multiplies one rate.

    With H = s^n / (s^n + K^n) (s the signal in the cell's voxel, K = ``half_max``, n =
    ``hill_power``) and F = ``max_fold_change``, the behaviour's rate is multiplied by
    1 + (F − 1)·H when the signal ``increases`` it (F at saturation) and by 1 − (1 − 1/F)·H when
    it ``decreases`` it (1/F at saturation). Several rules on one behaviour multiply.
    """

    signal: str = Field(description="Sensed field (a field species, or rankl_free).")
    direction: Literal["increases", "decreases"]
    behaviour: str = Field(description="Rate the rule multiplies (see BEHAVIOURS).")
    half_max: Positive = Field(description="Signal K of half the maximal effect, in its unit.")
    hill_power: Positive = Field(description="Hill exponent n of the response.")
    max_fold_change: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = Field(
        description="Fold change F ≥ 1 of the rate at saturating signal (÷F when decreasing)."
    )

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, value: str) -> str:
        _require_known([value], SIGNALS, "signal")
        return value

    @field_validator("behaviour")
    @classmethod
    def _known_behaviour(cls, value: str) -> str:
        _require_known([value], BEHAVIOURS, "behaviour")
        return value

    @property
    def saturated_gain(self) -> float:
        """g with rate × (1 + g·H): F − 1 when increasing, 1/F − 1 when decreasing."""
        if self.direction == "increases":
            return self.max_fold_change - 1.0
        return 1.0 / self.max_fold_change - 1.0


class CellType(Strict):
    """Parameters of one cell type that every cell type shares."""

    initial_count: int = Field(ge=0, description="Number of cells placed at t = 0.")
    placement: Placement = Field(description="Where the initial cells are placed.")
    division_rate_per_day: NonNegative = Field(
        description="Division rate, 1/day (a daughter needs a free neighbouring voxel)."
    )
    death_rate_per_day: NonNegative = Field(description="Death (apoptosis) rate, 1/day.")
    random_motility_um2_per_h: NonNegative = Field(
        description="Random-walk motility coefficient D, µm²/h (lattice hops to 4 neighbours)."
    )
    secretion_per_h: dict[str, NonNegative] = Field(
        default_factory=dict,
        description="Secretion per cell by species, amount per hour (pg for pg/mL species, amol"
        " for pM species and oxygen, a.u.·mL for a.u. species).",
    )
    consumption_per_h: dict[str, NonNegative] = Field(
        default_factory=dict,
        description="Maximal (Michaelis-Menten) consumption per cell by species, amount per hour.",
    )
    uptake_rate_per_h: dict[str, NonNegative] = Field(
        default_factory=dict,
        description="First-order uptake by species, 1/h, of the concentration in the cell's voxel.",
    )
    hif_secretion_gain: dict[str, NonNegative] = Field(
        default_factory=dict,
        description="Hypoxic gain of secretion by species (dimensionless a_H): the cell secretes"
        " secretion_per_h x (1 + a_H x HIF), HIF its HIF-1α activity 0-1 (`hypoxia`).",
    )
    rules: list[ResponseRule] = Field(
        default_factory=list,
        description="Signal → behaviour rules of this cell type (Hill curves; see ResponseRule).",
    )

    @field_validator(
        "secretion_per_h", "consumption_per_h", "uptake_rate_per_h", "hif_secretion_gain"
    )
    @classmethod
    def _known_species(cls, rates: dict[str, float]) -> dict[str, float]:
        _require_known(rates, FIELD_SPECIES, "species")
        return rates


class Cells(Strict):
    """The five cell types."""

    plasma_cell: CellType
    stromal_cell: CellType
    osteoblast: CellType
    osteoclast: CellType
    endothelial_cell: CellType

    def items(self) -> list[tuple[str, CellType]]:
        """``(name, spec)`` pairs in cell-type-code order."""
        return [(name, getattr(self, name)) for name in CELL_TYPES]


# --------------------------------------------------------------------------- binding


class Binding(Strict):
    """Fast local equilibria between diffusing species."""

    opg_rankl_dissociation_constant_pM: Positive = Field(
        description="Kd of the OPG-RANKL complex, pM; the `opg` and `rankl` fields hold totals"
        " and free RANKL follows from the binding quadratic."
    )


# --------------------------------------------------------------------------- hypoxia


class Hypoxia(Strict):
    """HIF-1α activity of every cell: it relaxes towards a Hill function of the pO2 in the cell's
    voxel, h(pO2) = 1 / (1 + (pO2 / P50)^n), with a first-order time constant (REFERENCE 2.2)."""

    hif_half_maximal_pO2_mmHg: Positive = Field(
        description="pO2 of half-maximal HIF-1 activity P50, mmHg."
    )
    hif_hill_coefficient: Positive = Field(description="Hill coefficient n of HIF vs pO2.")
    hif_relaxation_time_h: Positive = Field(
        description="Time constant of HIF-1α accumulation and decay towards h(pO2), hours."
    )


# --------------------------------------------------------------------------- vessel permeability

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class VesselPermeability(Strict):
    """Starling filtration across the vessel wall, with a hydraulic conductivity raised by VEGF
    through VEGFR2 occupancy (REFERENCE 1.7, 2.6 rule 2c, 2.8):
    Jv/S = Lp0 · (1 + (F − 1) · V/(V + K_V)) · [(Pc − Pi) − σ (πc − πi)]."""

    baseline_conductivity_um_per_s_per_mmHg: NonNegative = Field(
        description="Hydraulic conductivity Lp0 of the wall without VEGF, µm/(s·mmHg)."
    )
    vegf_max_conductivity_fold: Annotated[float, Field(ge=1.0)] = Field(
        description="Lp/Lp0 at full VEGFR2 occupancy (F)."
    )
    vegfr2_half_occupancy_pg_per_mL: Positive = Field(
        description="VEGF of half-maximal VEGFR2 occupancy K_V, pg/mL."
    )
    capillary_pressure_mmHg: float = Field(description="Capillary hydrostatic pressure Pc.")
    interstitial_pressure_mmHg: float = Field(description="Interstitial hydrostatic pressure Pi.")
    plasma_oncotic_pressure_mmHg: NonNegative = Field(description="Plasma oncotic pressure πc.")
    interstitial_oncotic_pressure_mmHg: NonNegative = Field(
        description="Interstitial oncotic pressure πi."
    )
    reflection_coefficient: Fraction = Field(
        description="Protein reflection coefficient σ (unchanged by VEGF, Bates 1998)."
    )

    @property
    def net_filtration_pressure_mmHg(self) -> float:
        """(Pc − Pi) − σ (πc − πi), mmHg."""
        return (self.capillary_pressure_mmHg - self.interstitial_pressure_mmHg) - (
            self.reflection_coefficient
            * (self.plasma_oncotic_pressure_mmHg - self.interstitial_oncotic_pressure_mmHg)
        )


# --------------------------------------------------------------------------- angiogenesis


class Angiogenesis(Strict):
    """Endothelial cells line every vessel-lumen voxel; perfused endothelium sprouts tip cells
    where VEGF and its gradient are high, tips climb the VEGF gradient by the Anderson–Chaplain
    biased walk leaving stalk cells, sprouts carry flow only once they connect two vessels, grown
    vessels regress without VEGF signalling, and endothelium near bone (type-H-like) releases
    the osteogenic signal (REFERENCE 1.6, 2.6 rules 2–3, 2.7; docs/vessels.md)."""

    vegfr2_signalling_fraction: Fraction = Field(
        description="Fraction of endothelial VEGFR2 signalling left (1: intact; 0: blocked, as"
        " by a VEGFR tyrosine-kinase inhibitor): endothelium senses this fraction of the VEGF"
        " for sprouting, chemotaxis, survival, permeability and the type-H gain."
    )
    tip_vegf_threshold_pg_per_mL: NonNegative = Field(
        description="Sensed VEGF at or above which perfused endothelium can become a tip, pg/mL."
    )
    tip_vegf_gradient_threshold_pg_per_mL_per_um: NonNegative = Field(
        description="Sensed VEGF gradient at or above which a tip can be selected, pg/mL per µm"
        " (= ng/mL per mm)."
    )
    tip_selection_rate_per_h: NonNegative = Field(
        description="Rate at which eligible endothelium (perfused, above both thresholds, with"
        " a free marrow neighbour and no tip within tip_spacing_um) sends out a tip, 1/h."
    )
    tip_spacing_um: NonNegative = Field(
        description="Lateral inhibition: no new tip within this distance of an existing tip, µm."
    )
    tips_avoid_bone_surface: bool = Field(
        description="Whether sprout tips keep off the bone surface: a tip neither buds into nor"
        " steps into a marrow voxel that touches mineralized bone (lining cells and the"
        " remodelling canopy cover it; capillaries run outside). false lets sprouts line bone."
    )
    tip_random_motility_um2_per_h: NonNegative = Field(
        description="Random motility D of tip cells (the A&C diffusion term), µm²/h."
    )
    tip_chemotactic_sensitivity_um2_per_h_per_pg_per_mL: NonNegative = Field(
        description="Chemotactic sensitivity χ0 of tips: drift velocity χ(V)·∇V with"
        " χ(V) = χ0/(1 + V/V_χ), µm²/h per pg/mL."
    )
    chemotaxis_vegf_saturation_pg_per_mL: Positive = Field(
        description="VEGF V_χ at which the chemotactic sensitivity halves (A&C's receptor"
        " saturation 1/α), pg/mL."
    )
    max_sensed_vegf_gradient_pg_per_mL_per_um: Positive = Field(
        description="Gradient above which tips move no faster (Shamloo 2008), pg/mL per µm."
    )
    regression_rate_per_day: NonNegative = Field(
        description="Regression rate of a grown sprout without VEGF signalling, 1/day; the rate"
        " is × K_s/(K_s + V), V the mean sensed VEGF along the sprout."
    )
    survival_vegf_half_saturation_pg_per_mL: Positive = Field(
        description="Sensed VEGF K_s that halves the regression rate, pg/mL."
    )
    type_h_distance_um: NonNegative = Field(
        description="Endothelium within this distance of mineralized bone is type-H-like and"
        " releases the osteogenic signal, µm."
    )
    type_h_osteogenic_secretion_per_h: NonNegative = Field(
        description="Osteogenic signal released per type-H endothelial cell without VEGF,"
        " a.u.·mL per hour."
    )
    type_h_vegf_gain: NonNegative = Field(
        description="VEGF gain g of type-H release: × (1 + g·V/(V + K_V)), K_V the VEGFR2"
        " half-occupancy of `permeability`."
    )


# --------------------------------------------------------------------------- bone remodelling


class OsteoclastLineage(Strict):
    """Osteoclast precursors arise in the marrow, activate on bone where RANK is occupied by free
    RANKL, resorb, and die by an apoptosis clock or TGF-β-induced apoptosis
    (``cells.osteoclast.death_rate_per_day`` adds a background death to every stage)."""

    precursor_supply_per_marrow_voxel_per_day: NonNegative = Field(
        description="Precursors (monocyte/macrophage-lineage cells of the marrow's myeloid pool)"
        " arising per marrow voxel per day, in that voxel if it holds no cell; a constant"
        " source, not scaled by the vessels (Pivonka 2008 D_OCp)."
    )
    precursor_motility_um2_per_h: NonNegative = Field(
        description="Random-walk motility of precursors, µm²/h (active osteoclasts stay on bone)."
    )
    precursor_death_rate_per_day: NonNegative = Field(
        description="Extra death rate of precursors, 1/day."
    )
    max_activation_rate_per_day: NonNegative = Field(
        description="Fusion/activation rate of a precursor touching bone at full RANK occupancy,"
        " 1/day."
    )
    rank_half_saturation_pM: Positive = Field(
        description="Free RANKL at half-maximal RANK occupancy, pM."
    )
    rank_hill_coefficient: Positive = Field(description="Hill coefficient of RANK occupancy.")
    resorption_rate_um_per_day: NonNegative = Field(
        description="Advance of the resorption front under an active osteoclast, µm/day."
    )
    active_lifespan_d: Positive = Field(
        description="Mean lifespan of an active osteoclast set by its apoptosis clock (without"
        " TGF-β), days."
    )
    active_lifespan_stages: int = Field(
        ge=1, le=100,
        description="Stages of the apoptosis clock: the lifespan is Erlang-distributed with"
        " coefficient of variation 1/√stages (1: exponential).",
    )
    tgfb_apoptosis_rate_per_day: NonNegative = Field(
        description="Extra apoptosis of active osteoclasts at full TGF-β occupancy, 1/day."
    )
    tgfb_apoptosis_half_saturation_pM: Positive = Field(
        description="TGF-β at half-maximal induction of osteoclast apoptosis, pM."
    )


class OsteoblastLineage(Strict):
    """Stromal cells commit osteoprogenitors under TGF-β; precursors seek TGF-β sources, adhere
    to bone and activate once TGF-β falls (faster with VEGF and the osteogenic signal); active
    osteoblasts lay osteoid, then become lining cells, die, or are buried as osteocytes."""

    max_commitment_rate_per_day: NonNegative = Field(
        description="Rate at which a stromal cell gives rise to an osteoblast precursor (into a"
        " free neighbouring voxel) at full TGF-β occupancy, 1/day."
    )
    tgfb_commitment_half_saturation_pM: Positive = Field(
        description="TGF-β at half-maximal commitment, pM (also the chemotaxis receptor scale)."
    )
    precursor_motility_um2_per_h: NonNegative = Field(
        description="Random-walk motility of precursors not yet touching bone, µm²/h."
    )
    precursor_tgfb_chemotaxis: NonNegative = Field(
        description="Chemotactic sensitivity (dimensionless): a hop toward a neighbour is weighted"
        " by exp(sensitivity × its TGF-β receptor occupancy)."
    )
    precursor_death_rate_per_day: NonNegative = Field(
        description="Extra death rate of precursors, 1/day."
    )
    activation_rate_per_day: NonNegative = Field(
        description="Activation rate of a precursor touching bone without TGF-β, 1/day."
    )
    tgfb_activation_half_saturation_pM: Positive = Field(
        description="TGF-β at which activation is halved (repression K/(K + TGF-β)), pM."
    )
    vegf_activation_gain: NonNegative = Field(
        description="Activation is multiplied by 1 + gain × VEGF/(VEGF + K_VEGF)."
    )
    vegf_half_saturation_pg_per_mL: Positive = Field(description="K_VEGF, pg/mL.")
    osteogenic_activation_gain: NonNegative = Field(
        description="Activation is multiplied by 1 + gain × S/(S + K_S), S the osteogenic signal."
    )
    osteogenic_half_saturation: Positive = Field(description="K_S, a.u.")
    apposition_rate_um_per_day: NonNegative = Field(
        description="Osteoid laid down by an active osteoblast, µm/day of its voxel face."
    )
    active_period_d: Positive = Field(description="Duration of the active (forming) phase, days.")
    lining_fraction: Fraction = Field(
        description="Fraction of osteoblasts ending their active phase as lining cells (the rest"
        " die by apoptosis)."
    )
    osteocyte_burial_probability: Fraction = Field(
        description="Probability that an osteoblast whose voxel has filled with matrix stays"
        " buried in it as an osteocyte (else it steps back onto a free voxel if there is one)."
    )
    mineralization_lag_d: Positive = Field(
        description="Mean time for osteoid to mineralize (first-order), days."
    )


class BoneRemodelling(Strict):
    """Rules of the osteoclast and osteoblast lineages and of the bone matrix."""

    matrix_tgfb_amol_per_um3: NonNegative = Field(
        description="Active TGF-β released into the voxel per µm³ of mineral resorbed, amol/µm³."
    )
    osteoclasts: OsteoclastLineage
    osteoblasts: OsteoblastLineage


# --------------------------------------------------------------------------- systemic, drugs


class PlasmaCytokine(Strict):
    """A cytokine's plasma pool: the section's release into its vessels, scaled to the whole
    marrow, and the rest of the body's production, against first-order systemic clearance."""

    clearance_half_life_min: Positive = Field(description="Plasma half-life, minutes.")
    extramarrow_plasma_level: NonNegative = Field(
        description="Plasma level that production outside the marrow alone would maintain, in"
        " the field's unit (pg/mL)."
    )


class PlasmaCytokines(Strict):
    """The plasma pools of the cytokines that exchange with blood."""

    vegf: PlasmaCytokine
    il6: PlasmaCytokine
    il1b: PlasmaCytokine

    def items(self) -> list[tuple[str, PlasmaCytokine]]:
        """``(species, spec)`` pairs."""
        return [(name, getattr(self, name)) for name in ("vegf", "il6", "il1b")]


class CReactiveProtein(Strict):
    """Hepatic CRP: dCRP/dt = S·IL6/(IL6 + K) − (ln 2/t½)·CRP, IL6 the plasma level."""

    half_life_h: Positive = Field(description="Plasma half-life of CRP, hours.")
    max_synthesis_mg_per_L_per_h: NonNegative = Field(
        description="Synthesis S at saturating plasma IL-6, mg/L per hour."
    )
    il6_half_max_pg_per_mL: Positive = Field(
        description="Plasma IL-6 K of half-maximal synthesis, pg/mL."
    )


class Platelets(Strict):
    """Platelets: dP/dt = p0·T^γ − P/τ with T = 1 + (F − 1)·IL6/(IL6 + K), the thrombopoietin
    fold of plasma IL-6; p0 is set so that P = ``reference_count_per_nL`` at the extramarrow
    plasma IL-6 level."""

    reference_count_per_nL: Positive = Field(
        description="Platelet count at the reference (extramarrow) plasma IL-6, 10⁹/L."
    )
    lifespan_d: Positive = Field(description="Mean platelet lifespan τ, days.")
    tpo_il6_max_fold: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = Field(
        description="Thrombopoietin fold F at saturating plasma IL-6."
    )
    tpo_il6_half_max_pg_per_mL: Positive = Field(
        description="Plasma IL-6 K of half the thrombopoietin rise, pg/mL."
    )
    production_tpo_exponent: NonNegative = Field(
        description="γ: platelet production scales as thrombopoietin fold to this power."
    )


class EndoneurialNerve(Strict):
    """Fluid balance of the endoneurium of a peripheral nerve whose capillaries see plasma VEGF:
    filtration Lp(C)·[(Pc − P_e) − σ(πc − πi)] (pressures of ``permeability``) is drained at
    G·(P_e − P0); the endoneurial fluid pressure P_e settles where they balance."""

    drainage_to_filtration_conductance_ratio: Positive = Field(
        description="G/Lp0: the endoneurium's drainage conductance relative to its capillaries'"
        " baseline hydraulic conductance."
    )
    drainage_pressure_mmHg: float = Field(
        description="Pressure P0 the endoneurial fluid drains to, mmHg.", allow_inf_nan=False
    )
    capillary_compliance_per_mmHg: NonNegative = Field(
        description="Fractional narrowing of the endoneurial capillaries per mmHg of fluid"
        " pressure above healthy (flow follows radius⁴, Poiseuille)."
    )
    tissue_compliance_per_mmHg: NonNegative = Field(
        description="Fractional swelling of the endoneurium per mmHg of fluid pressure above"
        " healthy (the oedema index)."
    )


class Systemic(Strict):
    """Whole-body compartment: plasma cytokines fed by the section's release into its vessels
    (scaled to the whole marrow), serum VEGF with its platelet load, CRP, platelets and the
    capillary leak index (docs/systemic.md)."""

    marrow_volume_mL: Positive = Field(
        description="Red-marrow volume of the whole body that the section stands for, mL."
    )
    plasma_volume_mL: Positive = Field(description="Plasma volume, mL.")
    plasma: PlasmaCytokines
    healthy_serum_to_plasma_vegf_ratio: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = (
        Field(
            description="Serum/plasma VEGF at the reference platelet count (platelets release"
            " VEGF on clotting; the platelet-borne part scales with the count)."
        )
    )
    crp: CReactiveProtein
    platelets: Platelets
    nerve: EndoneurialNerve


# --------------------------------------------------------------------------- interventions

Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class DoseSchedule(Strict):
    """When doses are given: ``doses`` doses (or every dose before ``until_d``) ``interval_d``
    apart from ``start_d``, the block repeated ``repeats`` times every ``repeat_every_d``
    (treatment cycles). Days count from ``interventions_start_d`` of the scenario."""

    start_d: NonNegative = Field(description="First dose, days after the treatment start.")
    interval_d: Positive = Field(description="Days between doses within a block.")
    doses: int | None = Field(default=None, ge=1, description="Doses per block.")
    until_d: NonNegative | None = Field(
        default=None, description="Dose until this day (exclusive) instead of a dose count."
    )
    repeat_every_d: Positive | None = Field(
        default=None, description="Cycle length, days: the block starts again after it."
    )
    repeats: int = Field(default=1, ge=1, description="Number of blocks (cycles).")

    @field_validator("repeats")
    @classmethod
    def _cycle_length(cls, repeats: int, info: ValidationInfo) -> int:
        if repeats > 1 and info.data.get("repeat_every_d") is None:
            raise ValueError("more than one block needs repeat_every_d")
        return repeats

    @field_validator("until_d")
    @classmethod
    def _count_or_until(cls, until_d: float | None, info: ValidationInfo) -> float | None:
        if (until_d is None) == (info.data.get("doses") is None):
            raise ValueError("give exactly one of doses and until_d")
        if until_d is not None and until_d <= info.data.get("start_d", 0.0):
            raise ValueError("must be after start_d")
        return until_d

    def dose_days(self) -> list[float]:
        """Every dose time, days after the treatment start, in order."""
        if self.doses is not None:
            block = [self.start_d + k * self.interval_d for k in range(self.doses)]
        else:
            n = int((self.until_d - self.start_d) / self.interval_d - 1e-9) + 1
            block = [self.start_d + k * self.interval_d for k in range(n)]
        cycle = self.repeat_every_d or 0.0
        return [day + r * cycle for r in range(self.repeats) for day in block]


class DrugSchedule(DoseSchedule):
    """A drug's doses (each a bolus into the central compartment)."""

    dose_mg: Positive = Field(description="Amount per dose, mg.")


class OneCompartment(Strict):
    """One-compartment pharmacokinetics: A' = −(ln 2/t½)·A, plasma concentration A/V."""

    half_life_h: Positive = Field(description="Elimination half-life, hours.")
    volume_L: Positive = Field(description="Volume of distribution, L.")
    marrow_to_plasma_ratio: Fraction = Field(
        description="Drug concentration in marrow interstitium over plasma (0-1)."
    )


class EmaxResponse(Strict):
    """E(C) = E_max · C^n/(C^n + EC50^n), C the drug's marrow concentration."""

    ec50_mg_per_L: Positive = Field(description="Concentration of half-maximal effect, mg/L.")
    hill_power: Positive = Field(default=1.0, description="Hill coefficient n.")


class Neutralization(Strict):
    """An antibody binding a free ligand: an extra first-order loss k_on·C_Ab of the free ligand,
    in the marrow (C_Ab the marrow concentration) and in plasma (the plasma concentration)."""

    mechanism: Literal["neutralizes"]
    species: str = Field(description="The ligand the antibody binds (a field species).")
    association_rate_per_nM_per_h: Positive = Field(
        description="Binding rate constant k_on, 1/(nM·h)."
    )
    molecular_weight_kDa: Positive = Field(description="Antibody molar mass, kDa (mg/L → nM).")

    @field_validator("species")
    @classmethod
    def _known_species(cls, value: str) -> str:
        _require_known([value], FIELD_SPECIES, "species")
        return value


class CellTypeResponse(EmaxResponse):
    """An Emax effect on the cells of one type."""

    cell_type: str = Field(description="Cell type the drug acts on.")

    @field_validator("cell_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        _require_known([value], CELL_TYPES, "cell type")
        return value


class SecretionInhibition(CellTypeResponse):
    """Lower a cell type's secretion of some species by the fraction E(C), E_max ≤ 1."""

    mechanism: Literal["inhibits_secretion"]
    species: list[str] = Field(min_length=1, description="Species whose secretion falls.")
    max_inhibition: Fraction = Field(description="E_max, fraction of the secretion removed.")

    @field_validator("species")
    @classmethod
    def _known_species(cls, value: list[str]) -> list[str]:
        _require_known(value, FIELD_SPECIES, "species")
        return value


class DivisionInhibition(CellTypeResponse):
    """Lower a cell type's division rate by the fraction E(C), E_max ≤ 1."""

    mechanism: Literal["inhibits_division"]
    max_inhibition: Fraction = Field(description="E_max, fraction of the division rate removed.")


class Cytotoxicity(CellTypeResponse):
    """Kill cells of a type (optionally only some lineage stages) at the extra death rate E(C)."""

    mechanism: Literal["kills"]
    stages: list[Literal["precursor", "active", "lining"]] | None = Field(
        default=None, description="Lineage stages killed (default: every stage)."
    )
    max_death_rate_per_h: Positive = Field(description="E_max, extra death rate, 1/h.")


DrugEffect = Annotated[
    Neutralization | SecretionInhibition | DivisionInhibition | Cytotoxicity,
    Field(discriminator="mechanism"),
]


class Drug(Strict):
    """A drug: its dosing, its pharmacokinetics and the mechanisms it acts on (REFERENCE 2.9)."""

    kind: Literal["drug"]
    schedule: DrugSchedule
    pharmacokinetics: OneCompartment
    effects: list[DrugEffect] = Field(min_length=1, description="What the drug binds or kills.")


class Radiosensitivity(Strict):
    """Linear-quadratic survival of one fraction of dose D: S = exp(−αD − βD²)."""

    alpha_per_Gy: NonNegative = Field(description="α, 1/Gy.")
    beta_per_Gy2: NonNegative = Field(description="β, 1/Gy².")


class RadiationSchedule(DoseSchedule):
    """Radiation fractions."""

    dose_Gy: Positive = Field(description="Dose per fraction, Gy.")


class Rectangle(Strict):
    """An axis-aligned region of the section, µm from its origin (lower bounds inclusive)."""

    x_um: tuple[NonNegative, NonNegative] = Field(description="[from, to) along x, µm.")
    y_um: tuple[NonNegative, NonNegative] = Field(description="[from, to) along y, µm.")


class Radiation(Strict):
    """External-beam radiation of a field of the section: each fraction kills each cell in the
    field with probability 1 − S(D) of its type (cell types without a radiosensitivity are
    spared)."""

    kind: Literal["radiation"]
    schedule: RadiationSchedule
    field: Rectangle | None = Field(
        default=None, description="Irradiated region (default: the whole section)."
    )
    radiosensitivity: dict[str, Radiosensitivity] = Field(
        min_length=1, description="LQ parameters by cell type."
    )

    @field_validator("radiosensitivity")
    @classmethod
    def _known_types(cls, value: dict[str, Radiosensitivity]) -> dict[str, Radiosensitivity]:
        _require_known(value, CELL_TYPES, "cell type")
        return value


Intervention = Annotated[Drug | Radiation, Field(discriminator="kind")]


# --------------------------------------------------------------------------- output


class Output(Strict):
    """What a run writes besides the time series."""

    snapshot_fields: list[str] | Literal["all"] = Field(
        description="Field layers written to fields.zarr at each snapshot ('all' or a list)."
    )
    snapshot_cell_map: bool = Field(
        description="Also write the cell-type map (−1 empty, else the cell-type code)."
    )

    @field_validator("snapshot_fields")
    @classmethod
    def _known_layers(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list):
            _require_known(value, LAYERS, "field")
        return value

    def snapshot_layer_names(self) -> list[str]:
        """Names of the layers written at each snapshot."""
        if self.snapshot_fields == "all":
            return list(LAYERS)
        return list(self.snapshot_fields)


# --------------------------------------------------------------------------- scenario


class Scenario(Strict):
    """A complete, resolved scenario (after ``extends`` merging and ``--set`` overrides)."""

    description: str = Field(default="", description="Free text: what this scenario is for.")
    seed: int = Field(ge=0, description="Seed of the model's random generator.")
    domain: Domain
    time: Time
    fields: Fields
    cells: Cells
    binding: Binding
    hypoxia: Hypoxia
    permeability: VesselPermeability
    angiogenesis: Angiogenesis
    bone: BoneRemodelling
    systemic: Systemic
    interventions_start_d: NonNegative = Field(
        default=0.0,
        description="Day the treatment schedules count from (`abm branch` sets it to the branch"
        " time).",
    )
    interventions: dict[str, Intervention] = Field(
        description="Drugs and radiation by name (docs/interventions.md); {} for none."
    )
    output: Output

    @property
    def n_voxels(self) -> int:
        """Number of lattice voxels."""
        nx, ny = self.domain.shape
        return nx * ny


def cross_section_errors(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    """Checks that need values from more than one section, as ``(key path, message)`` pairs."""
    errors = []
    motilities = [
        (("cells", name, "random_motility_um2_per_h"), spec.random_motility_um2_per_h)
        for name, spec in scenario.cells.items()
    ]
    motilities.append(
        (("angiogenesis", "tip_random_motility_um2_per_h"),
         scenario.angiogenesis.tip_random_motility_um2_per_h)
    )
    for key_path, motility in motilities:
        p = units.hop_probability(motility, scenario.time.step_h, scenario.domain.voxel_um)
        if p > 1.0:
            errors.append(
                (
                    key_path,
                    f"{motility:g} µm²/h needs {p:.3g} lattice hops per step (at most 1) with"
                    f" {scenario.time.step_h:g} h steps and {scenario.domain.voxel_um:g} µm"
                    " voxels",
                )
            )
    for name, spec in scenario.cells.items():
        for k, rule in enumerate(spec.rules):
            owner, owners = BEHAVIOUR_OWNERS.get(rule.behaviour, (name, ""))
            if owner != name:
                errors.append(
                    (
                        ("cells", name, "rules", k, "behaviour"),
                        f"{rule.behaviour} is a behaviour of {owners}",
                    )
                )
    errors.extend(_dose_time_errors(scenario))
    endothelium = scenario.cells.endothelial_cell
    for key in ("initial_count", "division_rate_per_day", "death_rate_per_day",
                "random_motility_um2_per_h"):
        if getattr(endothelium, key):
            errors.append(
                (
                    ("cells", "endothelial_cell", key),
                    "must be 0: endothelial cells line the vessel lumen (one per lumen voxel of"
                    " domain.vessels), grow by sprouting and regress through `angiogenesis`",
                )
            )
    for name, spec in scenario.fields.items():
        if spec.solver.mode != "quasi_steady":
            continue
        has_loss = (
            spec.half_life_h is not None
            or spec.background_consumption_per_h > 0
            or (spec.vessel_exchange_rate_per_s > 0 and scenario.domain.vessels.kind != "none")
            or any(edge.kind == "fixed" for edge in spec.boundary.edges())
            or any(
                cell.consumption_per_h.get(name, 0) > 0 or cell.uptake_rate_per_h.get(name, 0) > 0
                for _, cell in scenario.cells.items()
            )
        )
        if not has_loss:
            errors.append(
                (
                    ("fields", name, "solver", "mode"),
                    "quasi_steady needs a loss (half-life, consumption, uptake, vessel exchange"
                    " or a fixed edge); otherwise the steady state is undetermined",
                )
            )
    return errors


def _dose_time_errors(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    """Every dose must fall on a step boundary (doses are Mesa events between steps)."""
    step_h = scenario.time.step_h
    errors = []
    start_h = scenario.interventions_start_d * units.HOURS_PER_DAY
    if not _is_whole(start_h / step_h):
        errors.append(
            (
                ("interventions_start_d",),
                f"{start_h:g} h is not a whole number of {step_h:g} h steps",
            )
        )
    for name, intervention in scenario.interventions.items():
        schedule = intervention.schedule
        for key in ("start_d", "interval_d", "repeat_every_d"):
            value = getattr(schedule, key)
            if value is not None and not _is_whole(value * units.HOURS_PER_DAY / step_h):
                errors.append(
                    (
                        ("interventions", name, "schedule", key),
                        f"{value:g} d is not a whole number of {step_h:g} h steps",
                    )
                )
    return errors


def json_schema() -> dict:
    """JSON Schema of scenario files (editors use it to autocomplete and check keys)."""
    schema = Scenario.model_json_schema()
    schema["properties"]["extends"] = {
        "type": "string",
        "description": "Path of a base scenario (relative to this file) that this one deep-merges.",
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "marrow-abm scenario"
    return schema

