"""Photos for classify.images: folders, files and glob patterns; a photo
whose header declares too many pixels is refused without decoding, in
seconds, naming its size and the limit; labels on an annotated photo never
overlap; which model classifies photos and when the contact sheet warns."""

import json
import struct
import time
import zlib

import numpy as np
import pytest

from fer_workflow.use import classify, photos, shipped


def write_huge_png(path, width=30000, height=30000):
    """A valid 1-bit grey PNG of width x height black pixels, compressed row by
    row without ever holding the image: 30000 x 30000 (900 megapixels) is
    about 110 KB on disk."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte 0, then the packed bits
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    idat = b"".join(parts) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory):
    return write_huge_png(tmp_path_factory.mktemp("bomb") / "bomb.png")


def test_a_small_png_of_900_megapixels_is_refused_from_its_header(huge_png):
    assert 50_000 < huge_png.stat().st_size < 200_000
    start = time.perf_counter()
    with pytest.raises(photos.ImageTooLarge) as error:
        photos.check_image_size(huge_png, 100_000_000)
    assert time.perf_counter() - start < 2
    message = str(error.value)
    assert "bomb.png" in message and "30000 x 30000" in message and "900.0 megapixels" in message
    assert "classify.max_pixels = 100,000,000" in message
    assert photos.check_image_size(huge_png, 0) == (30000, 30000)  # 0: no limit
    assert photos.check_image_size(huge_png, 10**9) == (30000, 30000)


def test_an_oversized_photo_is_listed_or_fails_without_decoding(huge_png, tmp_path):
    # No model call happens for it: any object stands in for the model.
    start = time.perf_counter()
    listed = classify.classify_photo(str(huge_png), model=None, max_pixels=100_000_000)
    assert time.perf_counter() - start < 5
    note = listed.table.loc[0, "note"]
    assert note.startswith("too large: ") and "30000 x 30000" in note and "100,000,000" in note
    assert listed.table.loc[0, "expression"] == "" and len(listed.crops) == 0
    with pytest.raises(photos.ImageTooLarge, match="bomb.png.*on_unreadable"):
        classify.classify_photo(str(huge_png), model=None, max_pixels=100_000_000, on_unreadable="fail")
    # What the rule calls before loading the model: the same row, or None for a photo within the limit.
    early = classify.refuse_if_too_large(str(huge_png), 100_000_000)
    assert early.table.equals(listed.table)
    assert classify.refuse_if_too_large(str(huge_png), 0) is None
    # A header Pillow cannot read is left to OpenCV, which reports the file as unreadable.
    (tmp_path / "junk.png").write_bytes(b"\x89PNG junk")
    assert photos.check_image_size(tmp_path / "junk.png", 10) is None
    junk = classify.classify_photo(str(tmp_path / "junk.png"), model=None, max_pixels=10).table
    assert junk.loc[0, "note"].startswith("unreadable: cannot read photo")


def test_images_take_folders_files_patterns_and_lists(tmp_path):
    for rel in ["a/x.jpg", "a/y.PNG", "a/.hidden.jpg", "a/notes.txt", "b/c/z.jpeg", "b/w.png"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    assert list(photos.list_photos(a)) == ["x.jpg", "y.PNG"]
    assert photos.list_photos("") == {} and photos.list_photos([]) == {}
    assert list(photos.list_photos(f"{b}/**/*.*")) == ["w.png", "z.jpeg"]
    assert list(photos.list_photos(f"{b}/*.png")) == ["w.png"]
    both = photos.list_photos([a, f"{b}/c/z.jpeg", f"{a}/x.jpg"])  # the same file twice counts once
    assert both == {"x.jpg": f"{a}/x.jpg", "y.PNG": f"{a}/y.PNG", "z.jpeg": f"{b}/c/z.jpeg"}
    (tmp_path / "b/x.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="two photos are named 'x.jpg'"):
        photos.list_photos([a, b])
    with pytest.raises(ValueError, match=r"pattern .*\*\.gif.* matches no"):
        photos.list_photos(f"{a}/*.gif")
    with pytest.raises(ValueError, match="not a folder, a photo or a pattern"):
        photos.list_photos(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="notes.txt.* is not a .jpg"):
        photos.list_photos(f"{a}/notes.txt")


def test_labels_never_overlap_even_on_a_crowded_photo():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 12))
        boxes = [(int(rng.integers(0, 700)), int(rng.integers(0, 500)), 60, 60) for _ in range(n)]
        sizes = [(int(rng.integers(80, 160)), 20) for _ in range(n)]
        placed = classify.label_positions(boxes, sizes, (600, 800, 3))
        for i, r in enumerate(placed):
            assert 0 <= r[0] and r[2] <= 800 and 0 <= r[1] and r[3] <= 600
            assert (r[2] - r[0], r[3] - r[1]) == sizes[i]
            for s in placed[:i]:
                assert not classify._overlaps(r, s), (r, s)
    # Room to spare: the label sits just above its box.
    assert classify.label_positions([(100, 100, 50, 50)], [(60, 20)], (400, 400)) == [(100, 80, 160, 100)]


def test_annotated_labels_of_faces_side_by_side_do_not_overlap():
    photo = np.full((300, 400, 3), 128, np.uint8)
    boxes = np.array([(100, 100, 60, 60), (130, 110, 60, 60)])  # labels would sit on top of each other
    probs = np.eye(7)[[3, 5]] * 0.9 + 0.1 / 7
    out = classify.annotate(photo, boxes, probs)
    assert out.shape == photo.shape and (out != photo).any()


def test_contact_sheet_shows_the_model_and_the_warning():
    table = classify._rows("a.png", np.array([(0, 0, 50, 50)]), np.full((1, 7), 1 / 7))
    crops = np.zeros((1, 48, 48), np.uint8)
    warning = shipped.warning(shipped.SYNTHETIC, "this run's CNN")
    fig = classify.contact_sheet(table, crops, model="this run's CNN", warning=warning)
    title = fig._suptitle.get_text()
    assert "synthetic faces" in title and "model: this run's CNN" in title
    plain = classify.contact_sheet(table, crops, model="the shipped FER2013 CNN")._suptitle.get_text()
    assert "WARNING" not in plain


def test_model_resolution(tmp_path):
    own, own_cal = "results/models/cnn.keras", "results/eval/calibration_cnn.json"
    default = shipped.resolve({"model": ""}, own, own_cal, "synthetic")
    assert default["model"] == shipped.SHIPPED_MODEL and default["calibration"] == shipped.SHIPPED_RECORD
    assert default["data"] == shipped.REAL and shipped.warning(default["data"], default["description"]) == ""
    mine = shipped.resolve({"model": "results/models/cnn.keras"}, own, own_cal, "synthetic")
    assert mine["calibration"] == own_cal and mine["data"] == shipped.SYNTHETIC
    assert "synthetic faces" in shipped.warning(mine["data"], mine["description"])
    assert shipped.resolve({"model": own}, own, own_cal, "label_feature_csv")["data"] == shipped.REAL
    # Another run's model: its run's calibration file; a standalone one: its record beside it.
    run = tmp_path / "other/models"
    run.mkdir(parents=True)
    (run / "cnn.keras").write_bytes(b"")
    (tmp_path / "other/eval").mkdir()
    (tmp_path / "other/eval/calibration_cnn.json").write_text(json.dumps({"temperature": 1.3}))
    other = shipped.resolve({"model": str(run / "cnn.keras")}, own, own_cal, "synthetic")
    assert other["calibration"] == str(tmp_path / "other/eval/calibration_cnn.json")
    assert shipped.temperature(other["calibration"]) == 1.3 and other["data"] == shipped.UNKNOWN
    assert "Note: nothing beside" in shipped.warning(other["data"], other["description"])
    (tmp_path / "mine.keras").write_bytes(b"")
    (tmp_path / "mine.json").write_text(json.dumps({"data": {"format": "synthetic"}}))
    alone = shipped.resolve({"model": str(tmp_path / "mine.keras")}, own, own_cal, "fer2013")
    assert alone["data"] == shipped.SYNTHETIC and alone["calibration"] is None
    assert shipped.temperature(alone["calibration"]) == 1.0
    with pytest.raises(ValueError, match="classify.model: .*missing.keras.* does not exist"):
        shipped.resolve({"model": str(tmp_path / "missing.keras")}, own, own_cal, "fer2013")


def test_temperature_calibrates_each_view(tmp_path):
    import keras

    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Rescaling(1 / 255)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x))
    crops = np.random.default_rng(0).integers(0, 255, (3, 48, 48), dtype=np.uint8)
    from fer_workflow.evaluation.calibration import apply_temperature
    from fer_workflow.evaluation.predict import predict_probs

    expected = (
        apply_temperature(predict_probs(model, crops), 2)
        + apply_temperature(predict_probs(model, crops[:, :, ::-1]), 2)
    ) / 2
    np.testing.assert_allclose(classify.classify_crops(model, crops, True, 2.0), expected, atol=1e-6)
