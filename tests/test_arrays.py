"""The one .npz writer and reader: round trip, byte-reproducible rewrite,
plain ``np.load`` compatibility, and errors that name the file."""

import numpy as np
import pytest

from fer_workflow import arrays


def sample():
    rng = np.random.default_rng(0)
    return {
        "x": rng.integers(0, 256, (5, 48, 48), dtype=np.uint8),
        "y": np.array([0, 6, -1, 3, 2], np.int8),
        "probs": rng.dirichlet(np.ones(7), size=5).astype(np.float32),
        "empty": np.zeros((0, 7), np.float32),
        "ids": np.arange(5, dtype=np.int64)[::-1],  # not contiguous: a reversed view
    }


@pytest.mark.parametrize("compressed", [True, False])
def test_round_trip_keeps_names_order_values_and_dtypes(tmp_path, compressed):
    path = tmp_path / "a.npz"
    arrays.save(path, sample(), compressed=compressed)
    back = arrays.load(path)
    assert list(back) == list(sample())
    for name, value in sample().items():
        assert back[name].dtype == value.dtype and back[name].shape == value.shape, name
        np.testing.assert_array_equal(back[name], value)
    with np.load(path) as npz:  # plain NumPy reads it
        assert npz.files == list(sample())
        np.testing.assert_array_equal(npz["x"], sample()["x"])


@pytest.mark.parametrize("compressed", [True, False])
def test_rewrite_is_byte_identical(tmp_path, compressed):
    first, second = tmp_path / "first.npz", tmp_path / "second.npz"
    arrays.save(first, sample(), compressed=compressed)
    arrays.save(second, sample(), compressed=compressed)
    assert first.read_bytes() == second.read_bytes()
    # np.savez stamps the time of writing; ours does not depend on it, nor on the file name.
    changed = {**sample(), "y": np.array([1, 6, -1, 3, 2], np.int8)}
    arrays.save(second, changed, compressed=compressed)
    assert first.read_bytes() != second.read_bytes()


def test_compression_is_a_choice(tmp_path):
    flat = {"zeros": np.zeros((100, 48, 48), np.uint8)}
    arrays.save(tmp_path / "stored.npz", flat, compressed=False)
    arrays.save(tmp_path / "deflated.npz", flat, compressed=True)
    stored, deflated = (tmp_path / "stored.npz").stat().st_size, (tmp_path / "deflated.npz").stat().st_size
    assert stored > flat["zeros"].nbytes > 20 * deflated


def test_load_some_names_in_order(tmp_path):
    arrays.save(tmp_path / "a.npz", sample())
    back = arrays.load(tmp_path / "a.npz", ["y", "x"])
    assert list(back) == ["y", "x"]


def test_missing_array_names_the_file_and_what_it_has(tmp_path):
    path = tmp_path / "a.npz"
    arrays.save(path, {"x": np.zeros(3)})
    with pytest.raises(ValueError, match=r"a\.npz: no array y, z \(it has x\)"):
        arrays.load(path, ["x", "y", "z"])


def test_missing_or_corrupt_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        arrays.load(tmp_path / "nope.npz")
    text = tmp_path / "text.npz"
    text.write_text("not an npz\n")
    with pytest.raises(ValueError, match=r"text\.npz: not a readable \.npz file"):
        arrays.load(text)
    good = tmp_path / "good.npz"
    arrays.save(good, sample(), compressed=True)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"truncated\.npz: not a readable \.npz file"):
        arrays.load(truncated)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match=r"single\.npy: not a \.npz file"):
        arrays.load(single)


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(ValueError):
        arrays.save(tmp_path / "a.npz", {"o": np.array([{"a": 1}], dtype=object)})
