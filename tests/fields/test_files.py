"""Per-voxel fraction files: ``.npy`` arrays and greyscale images, their orientation (image
column = x, row from the top = y), grey-level scaling, and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from abm.fields.files import read_fraction_file
from abm.model import MarrowModel

NX, NY = 6, 4


def pattern() -> np.ndarray:
    """A ``[x, y]`` fraction array with distinct values, so a transposed or flipped read fails."""
    return (np.arange(NX * NY).reshape(NX, NY) / (NX * NY - 1)).round(6)


def test_npy_is_read_as_x_y(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, pattern())
    assert np.array_equal(read_fraction_file(path, (NX, NY)), pattern())


def test_8_bit_png_is_scaled_and_oriented_as_seen(tmp_path):
    """Pixel (column i, row j) of an 8-bit image is voxel (x = i, y = j), level / 255."""
    levels = np.zeros((NY, NX), dtype=np.uint8)  # image rows (y) × columns (x)
    levels[0, 5] = 255  # top row, rightmost column
    levels[3, 0] = 51
    path = tmp_path / "bone.PNG"
    Image.fromarray(levels, mode="L").save(path)
    fraction = read_fraction_file(path, (NX, NY))
    assert fraction.shape == (NX, NY)
    assert fraction[5, 0] == 1.0 and fraction[0, 3] == pytest.approx(0.2)
    assert np.count_nonzero(fraction) == 2


def test_16_bit_tiff_and_float_tiff(tmp_path):
    levels = np.zeros((NY, NX), dtype=np.uint16)
    levels[1, 2] = 65535
    levels[2, 4] = 13107
    Image.fromarray(levels).save(tmp_path / "ct.tif")
    fraction = read_fraction_file(tmp_path / "ct.tif", (NX, NY))
    assert fraction[2, 1] == 1.0 and fraction[4, 2] == pytest.approx(0.2)
    Image.fromarray(pattern().T.astype(np.float32), mode="F").save(tmp_path / "f.tiff")
    assert np.allclose(read_fraction_file(tmp_path / "f.tiff", (NX, NY)), pattern(), atol=1e-7)


def test_bilevel_and_colour_images(tmp_path):
    mask = np.zeros((NY, NX), dtype=bool)
    mask[0, :3] = True
    Image.fromarray(mask).convert("1").save(tmp_path / "mask.png")
    assert np.array_equal(read_fraction_file(tmp_path / "mask.png", (NX, NY)), mask.T * 1.0)
    rgb = np.zeros((NY, NX, 3), dtype=np.uint8)
    rgb[2, 3] = 255  # white
    Image.fromarray(rgb, mode="RGB").save(tmp_path / "drawn.png")
    fraction = read_fraction_file(tmp_path / "drawn.png", (NX, NY))
    assert fraction[3, 2] == 1.0 and np.count_nonzero(fraction) == 1


@pytest.mark.parametrize(
    ("name", "write", "message"),
    [
        ("missing.png", None, "file not found"),
        ("text.png", lambda p: p.write_text("not an image"), "cannot read"),
        ("wide.png", lambda p: Image.new("L", (NX + 1, NY)).save(p), "differs from the lattice"),
        ("square.png", lambda p: Image.new("L", (NY, NX)).save(p), "differs from the lattice"),
        ("big.tiff", lambda p: Image.new("F", (NX, NY), 2.0).save(p), "values must lie in 0-1"),
        ("bad.npy", lambda p: p.write_text("x"), "cannot read"),
    ],
)
def test_unreadable_files_give_one_line_reasons(tmp_path, name, write, message):
    path = tmp_path / name
    if write:
        write(path)
    with pytest.raises(ValueError, match=message) as error:
        read_fraction_file(path, (NX, NY))
    assert "\n" not in str(error.value)


def test_scenario_bone_from_a_png(tmp_path, write_scenario):
    """A scenario naming a PNG (relative to the scenario file) starts with that bone."""
    levels = np.zeros((40, 60), dtype=np.uint8)  # a 600 × 400 µm section, 10 µm voxels
    levels[10:20, :] = 255  # a horizontal plate
    path = write_scenario(
        {"domain": {"size_um": [600, 400],
                    "initial_bone": {"kind": "file", "path": "plate.png"}}},
        name="png.yaml",
    )
    Image.fromarray(levels, mode="L").save(path.parent / "plate.png")
    model = MarrowModel.from_scenario(path)
    mineral = model.fields["bone_mineral"]
    assert mineral.shape == (60, 40)
    assert np.all(mineral[:, 10:20] == 1.0) and mineral.sum() == 600
