"""Vessel profiles and microvessel density on sections with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from abm.vessels.geometry import lumen_discs
from abm.vessels.morphometry import (
    label_vessel_profiles,
    microvessel_density_per_mm2,
    po2_histogram,
    vessel_profiles,
)


def test_separate_discs_are_counted_once_each():
    centres = np.array([[50.0, 50.0], [250.0, 90.0], [130.0, 330.0], [370.0, 370.0]])
    lumen = lumen_discs((40, 40), 10.0, centres, 25.0) > 0
    assert vessel_profiles(lumen, periodic=False) == 4
    assert vessel_profiles(lumen, periodic=True) == 4
    # 4 profiles on 0.4 × 0.4 mm = 25 /mm²
    assert microvessel_density_per_mm2(lumen, 0, 10.0, periodic=True) == pytest.approx(25.0)


@pytest.mark.parametrize("centre", [(0.0, 200.0), (200.0, 0.0), (0.0, 0.0)])
def test_a_vessel_cut_by_a_periodic_edge_is_one_profile(centre):
    """A disc centred on an edge (or a corner) falls into 2 (or 4) pieces on the array; on a
    periodic section it is one vessel."""
    lumen = lumen_discs((40, 40), 10.0, np.array([centre]), 25.0) > 0
    pieces = 4 if centre == (0.0, 0.0) else 2
    assert vessel_profiles(lumen, periodic=False) == pieces
    assert vessel_profiles(lumen, periodic=True) == 1


def test_diagonal_contact_joins_and_a_gap_separates():
    lumen = np.zeros((6, 6), dtype=bool)
    lumen[1, 1] = lumen[2, 2] = True  # diagonal neighbours: one profile (8-connected)
    lumen[4, 4] = True  # one empty voxel away: its own profile
    assert vessel_profiles(lumen, periodic=False) == 2
    wrapped = np.zeros((6, 6), dtype=bool)
    wrapped[0, 2] = wrapped[5, 3] = True  # diagonal across the x edge
    assert vessel_profiles(wrapped, periodic=True) == 1
    assert vessel_profiles(wrapped, periodic=False) == 2
    assert vessel_profiles(np.zeros((5, 5), dtype=bool), periodic=True) == 0


def test_labels_number_periodic_profiles_once():
    lumen = lumen_discs((40, 40), 10.0, np.array([[0.0, 0.0], [200.0, 200.0]]), 25.0) > 0
    labels, n = label_vessel_profiles(lumen, periodic=True)
    assert n == 2
    assert set(np.unique(labels).tolist()) == {0, 1, 2}
    assert len(np.unique(labels[0:3, 0:3][lumen[0:3, 0:3]])) == 1
    np.testing.assert_array_equal(labels > 0, lumen)
    corner = labels[0, 0]
    assert labels[-1, -1] == labels[0, -1] == labels[-1, 0] == corner


def test_grown_voxels_add_half_a_profile_each():
    """In-plane vessel of length ℓ stands for a 3-D network of length density ℓ/(A·t), cut at
    Q_A = L_V/2 profiles per area: with t = one voxel, ℓ/voxel/2 profiles."""
    crossing = np.zeros((40, 40), dtype=bool)
    crossing[5, 5] = True
    # 1 crossing profile + 30 grown voxels / 2 on 0.16 mm²
    assert microvessel_density_per_mm2(crossing, 30, 10.0, False) == pytest.approx(16 / 0.16)


def test_po2_histogram_bins_marrow_voxels():
    pO2 = np.array([0.0, 4.9, 5.0, 12.0, 29.0, 30.0, 45.0, 21.0])
    hist = po2_histogram(pO2)
    assert list(hist) == [
        f"marrow_pO2_fraction_{lo}_{lo + 5}_mmHg" for lo in range(0, 30, 5)
    ]
    assert [hist[k] * 8 for k in hist] == pytest.approx([2, 1, 1, 0, 1, 3])
    assert sum(po2_histogram(np.zeros(0)).values()) == 0.0
