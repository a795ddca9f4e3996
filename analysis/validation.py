"""The validation report (``abm validate-model``; docs/validation.md): the REFERENCE §3 targets
the model covers, each computed from replicate runs of the healthy, POEMS and myeloma scenarios,
as a Markdown table (target, source, expected, simulated mean ± sd, pass/fail, or "reported"
for a value given as context without an expectation) with the figures behind it.

Nothing in a row is typed in: every simulated value is computed here from the run directories
(time series, snapshots and manifests), and every verdict from that value. The scenarios are
known only by the role they play in REFERENCE §3 (``healthy``, ``poems``, ``myeloma``), which is
what a validation is for; the model itself never sees these names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis import metrics
from analysis.runs import Run


@dataclass(frozen=True)
class Role:
    """A group of replicate runs the report compares: a scenario file (in ``scenarios/``) and
    parameter changes applied to it (``--set`` keys; an ablation switches one mechanism off)."""

    scenario: str
    overrides: Mapping[str, float | bool] = field(default_factory=dict)


VEGF_COMMITMENT_RULE = 4
"""Index, in base.yaml's stromal-cell rules, of VEGF → osteoblast commitment (REFERENCE 2.6
rule 3, Street & Lenehan 2009); its ablation sets the rule's fold to 1."""

ROLES: dict[str, Role] = {
    "healthy": Role("healthy.yaml"),
    "poems": Role("poems.yaml"),
    "myeloma": Role("myeloma.yaml"),
    "poems_no_opg": Role("poems.yaml", {"cells.osteoblast.secretion_per_h.opg": 0.0}),
    "poems_no_osteogenic_signal": Role(
        "poems.yaml", {"angiogenesis.type_h_osteogenic_secretion_per_h": 0.0}),
    "poems_no_clone_vegf_il6": Role("poems.yaml", {"cells.plasma_cell.secretion_per_h.vegf": 0.0,
                                                   "cells.plasma_cell.secretion_per_h.il6": 0.0}),
    "poems_sprouts_on_bone": Role("poems.yaml", {"angiogenesis.tips_avoid_bone_surface": False}),
    "poems_no_vegf_commitment": Role("poems.yaml",
                                     {f"cells.stromal_cell.rules.{VEGF_COMMITMENT_RULE}"
                                      ".max_fold_change": 1.0}),
    "poems_distant_marrow": Role("poems_distant_marrow.yaml"),
}
"""Every role: the scenarios playing REFERENCE §3's groups (B healthy, C POEMS, D myeloma),
and ablations of the POEMS scenario, each one parameter change: issue 7's no OPG production,
no endothelial (type-H) osteogenic signal, no plasma-cell VEGF and IL-6; and sprouts free to
grow along the bone surface (docs/vessels.md); no VEGF-driven osteoblast commitment (the
stromal-cell rule at :data:`VEGF_COMMITMENT_RULE`, fold 1). ``poems_distant_marrow`` is target
20's healthy background: healthy marrow, without a clone, in the POEMS blood (bone far from
every lesion)."""

DIAGNOSIS_D = 30.0
"""Day at which the POEMS blood tests are read ("at diagnosis": the clone established)."""

SPIN_UP_D = 30.0
"""Days left out of whole-run means (the blood pools and fields settle from their initial
values)."""

HYPOXIA_CEILING_MMHG = 32.0
"""REFERENCE target 14: 95 % of marrow voxels lie below this pO2."""

Roles = Mapping[str, Sequence[Run]]


# --------------------------------------------------------------------------- per-run measures


def column(run: Run, name: str) -> np.ndarray:
    """A time-series column as floats."""
    return np.asarray(run.timeseries[name], dtype=np.float64)


def at_day(run: Run, name: str, day: float) -> float:
    """``name`` at the recorded row nearest to ``day``."""
    days = column(run, "time_d")
    return float(column(run, name)[int(np.argmin(np.abs(days - day)))])


def settled_mean(run: Run, name: str) -> float:
    """Mean of ``name`` over the rows after :data:`SPIN_UP_D` (all rows of a shorter run)."""
    days, values = column(run, "time_d"), column(run, name)
    late = days >= min(SPIN_UP_D, days[-1])
    return float(values[late].mean())


def late_mean(run: Run, name: str) -> float:
    """Mean of ``name`` over the second half of the run (the established phenotype)."""
    days, values = column(run, "time_d"), column(run, name)
    return float(values[days >= days[-1] / 2].mean())


def relative_change_pct(run: Run, name: str) -> float:
    """Change of ``name`` from the first to the last recorded row, % of the first."""
    values = column(run, name)
    return 100.0 * (values[-1] / values[0] - 1.0)


def bone_change_pct_per_year(run: Run) -> float:
    """Whole-section BV/TV change over the run, % of the initial value per year."""
    days, bone = column(run, "time_d"), column(run, "bone_volume_fraction")
    return 100.0 * (bone[-1] / bone[0] - 1.0) * 365.0 / days[-1]


def bone_slope_pct_per_year(run: Run) -> float:
    """Least-squares slope of BV/TV over the run, % of the initial value per year."""
    days, bone = column(run, "time_d"), column(run, "bone_volume_fraction")
    return 100.0 * float(np.polyfit(days, bone, 1)[0]) * 365.0 / bone[0]


def focus_surround(run: Run) -> np.ndarray:
    """Voxels at and around the clone's foci in ``run``'s section (bool, lattice shape): the
    foci of its first snapshot (:func:`analysis.metrics.clone_focus_mask` with its
    scenario-independent defaults) widened by :data:`analysis.metrics.FOCUS_SURROUND_UM`
    (REFERENCE target 20's "at and around the foci": the focus mask itself lies mostly in
    marrow and holds little bone)."""
    foci = metrics.clone_focus_mask(run.layers(("cell_type_map",), 0)["cell_type_map"],
                                    run.voxel_um, run.periodic)
    return metrics.within_distance(foci, run.voxel_um, metrics.FOCUS_SURROUND_UM, run.periodic)


def regional_bone_change_pct(run: Run, near: np.ndarray | None = None) -> tuple[float, float]:
    """BV/TV change (% of the initial value) from the first to the last snapshot inside the
    region ``near`` (bool, lattice shape; default: :func:`focus_surround` of ``run`` itself)
    and outside it ("far": the rest of the section)."""
    first = run.layers(("bone_mineral", "osteoid"), 0)
    last = run.layers(("bone_mineral", "osteoid"), -1)
    if near is None:
        near = focus_surround(run)

    def change(region: np.ndarray) -> float:
        before = metrics.bone_volume_fraction(first["bone_mineral"], first["osteoid"], region)
        after = metrics.bone_volume_fraction(last["bone_mineral"], last["osteoid"], region)
        return 100.0 * (after / before - 1.0) if before > 0 else math.nan

    return change(near), change(~near)


def marrow_po2(run: Run) -> np.ndarray:
    """pO2 (mmHg) of the marrow voxels in the last snapshot."""
    layers = run.layers(("bone_mineral", "osteoid", "vessel_lumen", "oxygen"), -1)
    marrow = metrics.marrow_mask(layers["bone_mineral"], layers["osteoid"], layers["vessel_lumen"])
    return np.asarray(layers["oxygen"])[marrow]


def plasma_cell_vegf_per_h(run: Run) -> float:
    """Per-cell VEGF secretion of the run's plasma cells (scenario parameter), pg/h."""
    return float(run.scenario["cells"]["plasma_cell"]["secretion_per_h"].get("vegf", 0.0))


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Outcome:
    """A target's simulated value(s) and verdict (``None``: a value reported for context, with
    no expectation in REFERENCE §3 to judge it by)."""

    simulated: str
    passed: bool | None


@dataclass(frozen=True)
class Target:
    """One checkable statement of REFERENCE §3."""

    number: str
    statement: str
    source: str
    expected: str
    evaluate: Callable[[Roles], Outcome]
    roles: tuple[str, ...]


def mean_sd(values: Sequence[float], digits: int = 3) -> str:
    """``mean ± sd (n)`` of replicate values (sd with n − 1; none for one run)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 1:
        return f"{v[0]:.{digits}g} (n = 1)"
    return f"{v.mean():.{digits}g} ± {v.std(ddof=1):.{digits}g} (n = {len(v)})"


def _per_run(role: str, measure: Callable[[Run], float],
             check: Callable[[float], bool] | None, unit: str = "") -> Callable[[Roles], Outcome]:
    """Evaluate ``measure`` on every replicate of ``role``; the mean decides (no ``check``: the
    value is reported without a verdict)."""

    def evaluate(roles: Roles) -> Outcome:
        values = [measure(run) for run in roles[role]]
        verdict = None if check is None else bool(check(float(np.mean(values))))
        return Outcome(f"{mean_sd(values)}{unit}", verdict)

    return evaluate


def _fraction_of_runs(role: str, hit: Callable[[Run], bool],
                      check: Callable[[float], bool]) -> Callable[[Roles], Outcome]:
    """The fraction of ``role``'s replicates for which ``hit`` holds."""

    def evaluate(roles: Roles) -> Outcome:
        hits = [bool(hit(run)) for run in roles[role]]
        fraction = float(np.mean(hits))
        return Outcome(f"{sum(hits)} of {len(hits)} runs ({100 * fraction:.0f} %)",
                       bool(check(fraction)))

    return evaluate


def _ratio(role: str, reference: str, measure: Callable[[Run], float],
           check: Callable[[float], bool]) -> Callable[[Roles], Outcome]:
    """Mean of ``measure`` over ``role``'s replicates over the same for ``reference``."""
    return _ratio_of(role, measure, reference, measure, check)


def _ratio_of(role: str, measure: Callable[[Run], float], reference: str,
              reference_measure: Callable[[Run], float],
              check: Callable[[float], bool]) -> Callable[[Roles], Outcome]:
    """Mean of ``measure`` over ``role``'s replicates over the mean of ``reference_measure``
    over ``reference``'s."""

    def evaluate(roles: Roles) -> Outcome:
        a = [measure(run) for run in roles[role]]
        b = [reference_measure(run) for run in roles[reference]]
        ratio = float(np.mean(a) / np.mean(b)) if np.mean(b) else math.inf
        return Outcome(f"{mean_sd(a)} vs {mean_sd(b)}: × {ratio:.3g}", bool(check(ratio)))

    return evaluate


def _versus(role: str, reference: str, measure: Callable[[Run], float],
            check: Callable[[float, float], bool], unit: str = "") -> Callable[[Roles], Outcome]:
    """Means of ``measure`` over ``role``'s and ``reference``'s replicates, compared by
    ``check(role mean, reference mean)``."""

    def evaluate(roles: Roles) -> Outcome:
        a = [measure(run) for run in roles[role]]
        b = [measure(run) for run in roles[reference]]
        return Outcome(f"{mean_sd(a)}{unit} vs {mean_sd(b)}{unit}",
                       bool(check(float(np.mean(a)), float(np.mean(b)))))

    return evaluate


def _paired_regional(role: str, control: str,
                     check: Callable[[float], bool]) -> Callable[[Roles], Outcome]:
    """``role``'s BV/TV change at and around its foci minus ``control``'s over the same region,
    over the replicates of both with the same seed: the same seed builds the same initial bone,
    so the difference removes what the region's geometry alone does to its bone."""

    def evaluate(roles: Roles) -> Outcome:
        controls = {run.seed: run for run in roles[control]}
        pairs = [(run, controls[run.seed]) for run in roles[role] if run.seed in controls]
        if not pairs:
            return Outcome(f"no {role} run shares its seed with a {control} run", False)
        own, background = [], []
        for run, twin in pairs:
            near = focus_surround(run)
            own.append(regional_bone_change_pct(run, near)[0])
            background.append(regional_bone_change_pct(twin, near)[0])
        difference = [x - y for x, y in zip(own, background, strict=True)]
        return Outcome(f"{mean_sd(own)} % vs {mean_sd(background)} %: difference "
                       f"{mean_sd(difference)} points", bool(check(float(np.mean(difference)))))

    return evaluate


def _late(name: str) -> Callable[[Run], float]:
    return lambda run: late_mean(run, name)


def _rankl_to_opg(run: Run) -> float:
    return late_mean(run, "rankl_mean") / late_mean(run, "opg_mean")


def _near_foci_change_pct(run: Run) -> float:
    """BV/TV change (%) at and around ``run``'s own foci (:func:`regional_bone_change_pct`)."""
    return regional_bone_change_pct(run)[0]


def _regional(role: str, near: bool,
              check: Callable[[float], bool] | None) -> Callable[[Roles], Outcome]:
    return _per_run(role, lambda run: regional_bone_change_pct(run)[0 if near else 1], check,
                    " %")


def _targets() -> list[Target]:
    H, P, M = "healthy", "poems", "myeloma"
    NO_OPG, NO_SIGNAL, NO_CLONE, ON_BONE, NO_VEGF_COMMIT, DISTANT = (
        "poems_no_opg", "poems_no_osteogenic_signal", "poems_no_clone_vegf_il6",
        "poems_sprouts_on_bone", "poems_no_vegf_commitment", "poems_distant_marrow")
    rows = [
        Target("10", "Healthy BV/TV stays stable", "REFERENCE 3 B10 (Riggs 2008)",
               "within ±1 %/yr", _per_run(H, bone_change_pct_per_year,
                                          lambda m: abs(m) <= 1.0, " %/yr"), (H,)),
        Target("10", "Healthy microvessel density stays stable (first to last row)",
               "issue 7 (no REFERENCE number)", "within ±10 % [A]",
               _per_run(H, lambda r: relative_change_pct(r, "microvessel_density_per_mm2"),
                        lambda m: abs(m) <= 10.0, " %"), (H,)),
        Target("14", "Healthy marrow pO2: 95 % of marrow voxels below 32 mmHg",
               "REFERENCE 3 B14 (Spencer 2014)", "≥ 0.95",
               _per_run(H, lambda r: float(np.mean(marrow_po2(r) < HYPOXIA_CEILING_MMHG)),
                        lambda m: m >= 0.95), (H,)),
        Target("14", "Healthy marrow pO2 minimum", "REFERENCE 3 B14 (Spencer 2014)",
               "about 8–12 mmHg", _per_run(H, lambda r: float(marrow_po2(r).min()),
                                           lambda m: 8.0 <= m <= 12.0, " mmHg"), (H,)),
        Target("16", "Healthy plasma VEGF (after day 30)", "REFERENCE 3 B16, 1.8 (Mayo)",
               "31–86 pg/mL", _per_run(H, lambda r: settled_mean(r, "plasma_vegf_pg_per_mL"),
                                       lambda m: 31.0 <= m <= 86.0, " pg/mL"), (H,)),
        Target("16", "Healthy serum VEGF with the platelet load (after day 30)",
               "REFERENCE 3 B16", "< 1000 pg/mL",
               _per_run(H, lambda r: settled_mean(r, "serum_vegf_pg_per_mL"),
                        lambda m: m < 1000.0, " pg/mL"), (H,)),
        Target("17", "Healthy CRP (after day 30)", "REFERENCE 3 B17, 1.8 (Pepys)",
               "median 0.6–0.8, < 3 mg/L", _per_run(H, lambda r: settled_mean(r, "crp_mg_per_L"),
                                                    lambda m: m < 3.0, " mg/L"), (H,)),
        Target("18", f"POEMS serum VEGF at diagnosis (day {DIAGNOSIS_D:g})",
               "REFERENCE 3 C18, 1.8 (medians 2835–4794)", "2800–4800 pg/mL",
               _per_run(P, lambda r: at_day(r, "serum_vegf_pg_per_mL", DIAGNOSIS_D),
                        lambda m: 2800.0 <= m <= 4800.0, " pg/mL"), (P,)),
        Target("18", f"POEMS plasma VEGF at day {DIAGNOSIS_D:g}", "REFERENCE 3 C18",
               "> 200 pg/mL",
               _per_run(P, lambda r: at_day(r, "plasma_vegf_pg_per_mL", DIAGNOSIS_D),
                        lambda m: m > 200.0, " pg/mL"), (P,)),
        Target("18", f"POEMS / healthy serum VEGF at day {DIAGNOSIS_D:g}", "REFERENCE 3 C18",
               "5–20×", _ratio(P, H, lambda r: at_day(r, "serum_vegf_pg_per_mL", DIAGNOSIS_D),
                               lambda x: 5.0 <= x <= 20.0), (P, H)),
        Target("19", "Per-cell plasma-cell VEGF secretion, POEMS / myeloma",
               "REFERENCE 3 C19", "≥ ~10×",
               _ratio(P, M, plasma_cell_vegf_per_h, lambda x: x >= 10.0), (P, M)),
        Target("20", "POEMS BV/TV change at and around the clone's foci (first to last "
               "snapshot)",
               "REFERENCE 3 C20 (Wang 2016)", "rises (> 0)", _regional(P, True, lambda m: m > 0),
               (P,)),
        Target("20", "POEMS BV/TV change in the rest of the section (beyond 100 µm of the "
               "foci, still within 1 mm of one)", "REFERENCE 3 C20 (no expectation: the "
               "lesion's surround, not the background)", "reported (docs/validation.md)",
               _regional(P, False, None), (P,)),
        Target("20", "POEMS distant marrow (healthy marrow in the POEMS blood) BV/TV change",
               "REFERENCE 3 C20 (the healthy background stays flat)", "within ±1 %/yr",
               _per_run(DISTANT, bone_change_pct_per_year, lambda m: abs(m) <= 1.0, " %/yr"),
               (DISTANT,)),
        Target("20", f"POEMS distant marrow plasma VEGF (after day {SPIN_UP_D:g}) / POEMS "
               f"plasma VEGF at day {DIAGNOSIS_D:g}", "the distant marrow's blood is the "
               "POEMS scenario's", "0.8–1.25×",
               _ratio_of(DISTANT, lambda r: settled_mean(r, "plasma_vegf_pg_per_mL"),
                         P, lambda r: at_day(r, "plasma_vegf_pg_per_mL", DIAGNOSIS_D),
                         lambda x: 0.8 <= x <= 1.25), (DISTANT, P)),
        Target("20", "POEMS BV/TV change at and around the foci, minus healthy marrow's over "
               "the same region (same seed, so the same initial bone)",
               "REFERENCE 3 C20 (against the healthy background)", "higher (> 0 points)",
               _paired_regional(P, H, lambda d: d > 0), (P, H)),
        Target("20", "POEMS runs with a sclerotic focus (BV/TV at and around the foci rose)",
               "REFERENCE 3 C20", "≥ 95 % of runs",
               _fraction_of_runs(P, lambda r: _near_foci_change_pct(r) > 0,
                                 lambda f: f >= 0.95), (P,)),
        Target("20 ablation", "POEMS without OPG production (osteoblast OPG secretion 0): "
               "BV/TV change at and around the foci", "issue 7; REFERENCE 2.6, 3 F41",
               "no net gain (≤ 0)",
               _regional(NO_OPG, True, lambda m: m <= 0), (NO_OPG,)),
        Target("20 ablation", "POEMS without OPG production: whole-section BV/TV change",
               "issue 7 (context for the row above)", "reported (docs/bone.md)",
               _per_run(NO_OPG, bone_change_pct_per_year, None, " %/yr"), (NO_OPG,)),
        Target("20 ablation", "POEMS without the endothelial osteogenic signal: BV/TV change "
               "at and around the foci, vs intact POEMS", "issue 7; REFERENCE 2.6 rule 3",
               "smaller gain or none (< intact)",
               _versus(NO_SIGNAL, P, _near_foci_change_pct, lambda a, b: a < b, " %"),
               (NO_SIGNAL, P)),
        Target("20 ablation", "POEMS with sprouts free to grow along the bone surface: BV/TV "
               "change at and around the foci, vs intact POEMS", "docs/vessels.md ([K], not in "
               "REFERENCE)", "smaller gain (< intact)",
               _versus(ON_BONE, P, _near_foci_change_pct, lambda a, b: a < b, " %"),
               (ON_BONE, P)),
        Target("20 ablation", "POEMS without VEGF-driven osteoblast commitment: BV/TV change "
               "at and around the foci, vs intact POEMS", "REFERENCE 2.6 rule 3, 1.5 (Street "
               "2009)", "smaller gain or none (< intact)",
               _versus(NO_VEGF_COMMIT, P, _near_foci_change_pct, lambda a, b: a < b, " %"),
               (NO_VEGF_COMMIT, P)),
        Target("20 ablation", "POEMS without plasma-cell VEGF and IL-6: BV/TV change at and "
               "around the foci", "issue 7", "no sclerosis (≤ +1 %, the healthy band)",
               _regional(NO_CLONE, True, lambda m: m <= 1.0), (NO_CLONE,)),
        Target("20 ablation", f"POEMS without plasma-cell VEGF and IL-6: serum VEGF at day "
               f"{DIAGNOSIS_D:g}", "issue 7; REFERENCE 3 B16", "healthy (< 1000 pg/mL)",
               _per_run(NO_CLONE, lambda r: at_day(r, "serum_vegf_pg_per_mL", DIAGNOSIS_D),
                        lambda m: m < 1000.0, " pg/mL"), (NO_CLONE,)),
        Target("20 ablation", "POEMS without plasma-cell VEGF and IL-6 / healthy: microvessel "
               "density (second half)", "issue 7; REFERENCE 3 C22", "healthy (0.8–1.25×)",
               _ratio(NO_CLONE, H, _late("microvessel_density_per_mm2"),
                      lambda x: 0.8 <= x <= 1.25), (NO_CLONE, H)),
        Target("21", "POEMS / healthy OPG (second half)", "REFERENCE 3 C21", "up (> 1)",
               _ratio(P, H, _late("opg_mean"), lambda x: x > 1.0), (P, H)),
        Target("21", "POEMS / healthy RANKL:OPG (second half)", "REFERENCE 3 C21",
               "down (< 1)", _ratio(P, H, _rankl_to_opg, lambda x: x < 1.0), (P, H)),
        Target("21", "POEMS / healthy active osteoclasts (second half)", "REFERENCE 3 C21",
               "down or unchanged (≤ 1.05)",
               _ratio(P, H, _late("n_osteoclast_active"), lambda x: x <= 1.05), (P, H)),
        Target("21", "POEMS / healthy active osteoblasts (second half)", "REFERENCE 3 C21",
               "up (> 1)", _ratio(P, H, _late("n_osteoblast_active"), lambda x: x > 1.0),
               (P, H)),
        Target("21", "Myeloma / healthy OPG (second half)", "REFERENCE 3 C21 (opposite in MM)",
               "down (< 1)", _ratio(M, H, _late("opg_mean"), lambda x: x < 1.0), (M, H)),
        Target("21", "Myeloma / healthy RANKL:OPG (second half)", "REFERENCE 3 C21, D",
               "up (> 1)", _ratio(M, H, _rankl_to_opg, lambda x: x > 1.0), (M, H)),
        Target("21", "Myeloma / healthy active osteoclasts (second half)", "REFERENCE 3 C21, D",
               "up (> 1)", _ratio(M, H, _late("n_osteoclast_active"), lambda x: x > 1.0), (M, H)),
        Target("22", "POEMS / healthy microvessel density (second half)",
               "REFERENCE 3 C22", "higher (> 1; suggested 2–3×)",
               _ratio(P, H, _late("microvessel_density_per_mm2"), lambda x: x > 1.0), (P, H)),
        Target("24", f"POEMS runs with platelets > 400 × 10⁹/L at day {DIAGNOSIS_D:g}",
               "REFERENCE 3 C24", "about half to most (54–88 %)",
               _fraction_of_runs(P, lambda r: at_day(r, "platelets_per_nL", DIAGNOSIS_D) > 400,
                                 lambda f: f >= 0.5), (P,)),
        Target("25", "POEMS / myeloma plasma IL-6 (second half)", "REFERENCE 3 C25 (Gherardi)",
               "higher (> 1)", _ratio(P, M, _late("plasma_il6_pg_per_mL"), lambda x: x > 1.0),
               (P, M)),
        Target("25", "POEMS / myeloma plasma IL-1β (second half)", "REFERENCE 3 C25 (Gherardi)",
               "higher (> 1)", _ratio(P, M, _late("plasma_il1b_pg_per_mL"), lambda x: x > 1.0),
               (P, M)),
        Target("27", "Myeloma BV/TV change at and around the clone's foci (first to last "
               "snapshot)",
               "REFERENCE 3 D27; issue 7 (lytic foci)", "falls (< 0)",
               _regional(M, True, lambda m: m < 0), (M,)),
        Target("27", "Myeloma runs with net bone loss", "REFERENCE 3 D27 (Bataille 1989)",
               "most (70–80 %)", _fraction_of_runs(M, lambda r: bone_change_pct_per_year(r) < 0,
                                                   lambda f: f >= 0.5), (M,)),
        Target("29", "Myeloma / healthy microvessel density (second half)", "REFERENCE 3 D29",
               "well above (> 1.25, beyond the healthy band)",
               _ratio(M, H, _late("microvessel_density_per_mm2"), lambda x: x > 1.25), (M, H)),
        Target("30", "Myeloma BV/TV trend (least-squares slope)", "REFERENCE 3 D30 (Ayati)",
               "declines (< 0)", _per_run(M, bone_slope_pct_per_year, lambda m: m < 0,
                                          " %/yr"), (M,)),
    ]
    return rows


TARGETS: list[Target] = _targets()
"""Every target the report computes, in REFERENCE §3 order."""

NOT_IN_REPORT: tuple[tuple[str, str], ...] = (
    ("1–9", "numerical verification: the test suite checks them (tests/fields/test_verification"
            ".py, tests/bone/test_komarova.py, tests/test_systemic.py)"),
    ("11–13", "BMU timeline, geometry and lifespans: site-level cycles need daily site counts "
              "(tests/bone/test_remodelling_validation.py, slow)"),
    ("15, 26", "plasma-cell fractions are inputs of the scenarios (initial_count), not outputs"),
    ("23", "capillary leak ×F at saturating VEGF: tests/processes/test_permeability.py"),
    ("24 (sign)", "IL-6 neutralisation lowers platelets and CRP: the siltuximab arm, "
                  "tests/test_interventions.py"),
    ("37–41", "mechanism-level checks: tests/processes and tests/bone"),
)
"""REFERENCE §3 targets left to the test suite, and why."""


def evaluate(roles: Roles) -> list[tuple[Target, Outcome]]:
    """Every target whose roles have runs, with its outcome."""
    return [(t, t.evaluate(roles)) for t in TARGETS if all(roles.get(r) for r in t.roles)]


# --------------------------------------------------------------------------- the report

FIGURE_PANELS: tuple[tuple[str, str, float], ...] = (
    ("bone_volume_fraction", "BV/TV (%)", 100.0),
    ("serum_vegf_pg_per_mL", "serum VEGF (pg/mL)", 1.0),
    ("microvessel_density_per_mm2", "microvessels (/mm²)", 1.0),
    ("n_osteoblast_active", "active osteoblasts", 1.0),
    ("n_osteoclast_active", "active osteoclasts", 1.0),
    ("opg_mean", "OPG (pM)", 1.0),
    ("platelets_per_nL", "platelets (10⁹/L)", 1.0),
    ("crp_mg_per_L", "CRP (mg/L)", 1.0),
    ("n_plasma_cell", "plasma cells", 1.0),
)
"""Time-series panels of the report's figure: replicate mean ± SD of each role."""


def plot_roles(roles: Roles, out: Path) -> Path:
    """The report's figure: :data:`FIGURE_PANELS` for every role (its replicate group),
    overlaid."""
    from analysis.figures import plot_timeseries_panels

    out.parent.mkdir(parents=True, exist_ok=True)
    return plot_timeseries_panels([run for runs in roles.values() for run in runs], out,
                                  FIGURE_PANELS)


def write_report(roles: Roles, out_dir: Path, header: Sequence[str] = ()) -> tuple[Path, int]:
    """Write ``out_dir/report.md`` (the target table, the figure, what is left to the tests)
    and ``out_dir/figures/timeseries.png``; returns the report's path and the number of
    targets that fail (rows reported without a verdict count neither way)."""
    rows = evaluate(roles)
    figure = plot_roles(roles, out_dir / "figures" / "timeseries.png")
    judged = [outcome.passed for _, outcome in rows if outcome.passed is not None]
    passed = sum(judged)
    reported = len(rows) - len(judged)
    lines = [
        "# Validation report",
        "",
        *header,
        "",
        f"**{passed} of {len(judged)} targets pass**"
        + (f" ({reported} more {'row is' if reported == 1 else 'rows are'} reported without a"
           " verdict)." if reported else ".")
        + " Each simulated value is the mean ± sd over the replicates (sd with n − 1), computed "
        "from the run directories listed below; ratios compare the means of two scenarios.",
        "",
        "| Target | Statement | Source | Expected | Simulated | Verdict |",
        "|---|---|---|---|---|---|",
    ]
    for target, outcome in rows:
        verdict = {True: "pass", False: "**fail**", None: "reported"}[outcome.passed]
        lines.append(f"| {target.number} | {target.statement} | {target.source} | "
                     f"{target.expected} | {outcome.simulated} | {verdict} |")
    lines += ["", f"![time series]({figure.relative_to(out_dir)})", "",
              "## Targets left to the test suite", ""]
    lines += [f"- {number}: {why}" for number, why in NOT_IN_REPORT]
    lines += ["", "## Runs", ""]
    for role, runs in roles.items():
        for run in runs:
            lines.append(f"- {role}: `{run.path}` (seed {run.seed}, "
                         f"{column(run, 'time_d')[-1]:g} days)")
    report = out_dir / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report, len(judged) - passed
