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
)
"""Diffusing species, in the order of the field stack. Bone mineral is a separate, non-diffusing
layer built from ``domain.initial_bone``."""

BONE_LAYER = "bone_mineral"
"""Name of the per-voxel mineralized-bone fraction layer (0–1, dimensionless)."""


class Strict(BaseModel):
    """Base of every scenario section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# --------------------------------------------------------------------------- domain


class NoBone(Strict):
    """No initial bone: the whole section is marrow."""

    kind: Literal["none"]


class BoneFromFile(Strict):
    """Initial bone mineral fraction read from a ``.npy`` file (2-D, values in 0–1).

    The array is indexed ``[x, y]`` and must have the lattice's shape. A relative ``path`` is
    resolved against the directory of the scenario file that names it.
    """

    kind: Literal["file"]
    path: str = Field(min_length=1)


InitialBone = Annotated[NoBone | BoneFromFile, Field(discriminator="kind")]


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
            from abm.bone.geometry import read_bone_file

            shape = (round(size[0] / voxel), round(size[1] / voxel))
            read_bone_file(bone.path, shape)  # raises ValueError with a one-line reason
        return bone

    @property
    def shape(self) -> tuple[int, int]:
        """Lattice shape ``(nx, ny)`` in voxels."""
        return (round(self.size_um[0] / self.voxel_um), round(self.size_um[1] / self.voxel_um))

    @property
    def voxel_area_um2(self) -> float:
        """Area of one voxel, µm²."""
        return self.voxel_um**2


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


class FieldSpecies(Strict):
    """One diffusing species. Concentrations are in the species' stated ``unit``."""

    unit: Literal["mmHg", "pg/mL", "pM", "a.u."] = Field(
        description="Unit of every concentration of this species (oxygen as partial pressure)."
    )
    initial_value: NonNegative = Field(description="Uniform initial value, in `unit`.")
    diffusion_um2_per_s: NonNegative = Field(description="Diffusion coefficient in marrow, µm²/s.")
    half_life_h: Positive | None = Field(
        description="Half-life of free ligand in tissue, hours (null: no first-order decay)."
    )

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


# --------------------------------------------------------------------------- systemic, drugs


class Systemic(Strict):
    """Whole-body compartment (serum cytokines, CRP, platelets, leak).

    It has no parameters until the systemic layer exists; any key here is an error so that a
    scenario cannot silently set something the model ignores.
    """


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
            known = (*FIELD_SPECIES, BONE_LAYER)
            for name in value:
                if name not in known:
                    raise ValueError(
                        f"unknown field {name!r}; valid: {', '.join(known)}"
                        + did_you_mean(name, known)
                    )
        return value

    def snapshot_layer_names(self) -> list[str]:
        """Names of the layers written at each snapshot."""
        if self.snapshot_fields == "all":
            return [*FIELD_SPECIES, BONE_LAYER]
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
    systemic: Systemic
    interventions: list[dict[str, object]] = Field(
        description="Drug and radiation schedules (no intervention kinds exist yet: must be empty)."
    )
    output: Output

    @field_validator("interventions")
    @classmethod
    def _no_interventions_yet(cls, value: list[dict[str, object]]) -> list[dict[str, object]]:
        if value:
            raise ValueError("no intervention kinds are implemented yet; leave this list empty")
        return value

    @property
    def n_voxels(self) -> int:
        """Number of lattice voxels."""
        nx, ny = self.domain.shape
        return nx * ny


def cross_section_errors(scenario: Scenario) -> list[tuple[tuple[str, ...], str]]:
    """Checks that need values from more than one section, as ``(key path, message)`` pairs."""
    errors = []
    for name, spec in scenario.cells.items():
        p = units.hop_probability(
            spec.random_motility_um2_per_h, scenario.time.step_h, scenario.domain.voxel_um
        )
        if p > 1.0:
            errors.append(
                (
                    ("cells", name, "random_motility_um2_per_h"),
                    f"{spec.random_motility_um2_per_h:g} µm²/h needs {p:.3g} lattice hops per"
                    f" step (at most 1) with {scenario.time.step_h:g} h steps and"
                    f" {scenario.domain.voxel_um:g} µm voxels",
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

