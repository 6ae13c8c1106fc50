"""Face detection behind one call (classify.detector): the Haar cascade and
MTCNN (its weights from inside the mtcnn package) on real FER2013 faces
placed on photos, and MTCNN's alignment, which levels the eyes of a tilted
face before the 48x48 crop."""

import cv2
import numpy as np
import pytest
from test_classify import FER2013, blurred_correlation

import scenes
from fer_workflow.use import classify, detect

pytestmark = pytest.mark.skipif(FER2013 is None, reason="../shared/data/fer2013 not found")


@pytest.fixture(scope="module")
def faces():
    return scenes.read_csv_faces(FER2013, 15)[0]


@pytest.fixture(scope="module")
def mtcnn():
    return detect.Detector("mtcnn", min_face_size=48)


def test_unknown_detector_names_the_key():
    with pytest.raises(ValueError, match="classify.detector: 'yolo' is not one of haar, mtcnn"):
        detect.Detector("yolo")


@pytest.mark.parametrize("kind", ["haar", "mtcnn"])
def test_both_detectors_find_fer2013_faces_on_photos(faces, kind):
    detector = detect.Detector(kind, min_face_size=48)
    rng = np.random.default_rng(0)
    found = total = 0
    for k in range(0, 15, 3):
        photo, placed = scenes.place_faces(faces[k : k + 3], rng)
        result = detector.detect(photo)
        assert result.boxes.shape[1] == 4 and (np.diff(result.boxes[:, 0]) >= 0).all()  # left to right
        if kind == "mtcnn":
            assert result.landmarks.shape == (len(result), 5, 2) and result.scores.shape == (len(result),)
        else:
            assert result.landmarks is None
        total += len(placed)
        found += sum(max((scenes.box_overlap(p, b) for b in result.boxes), default=0) > 0.3 for p in placed)
        crops = detect.crop_faces(classify.to_grey(photo), result)
        assert crops.shape == (len(result), 48, 48) and crops.dtype == np.uint8
    assert found >= 0.6 * total
    # Nothing on a photo without a face.
    assert len(detector.detect(scenes.gradient_canvas(300, 400, rng))) == 0


def tilted(photo, centre, angle):
    """The photo turned ``angle`` degrees counter-clockwise about ``centre`` (edges repeated)."""
    matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
    return cv2.warpAffine(photo, matrix, photo.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("angle", [-18, 12])
def test_mtcnn_alignment_levels_the_eyes_of_a_tilted_face(faces, mtcnn, angle):
    face = faces[0]
    photo = scenes.gradient_canvas(400, 400, np.random.default_rng(1))
    photo[100:300, 100:300] = cv2.resize(face, (200, 200), interpolation=cv2.INTER_CUBIC)[..., None]
    level = mtcnn.detect(photo)
    turned = mtcnn.detect(tilted(photo, (200.0, 200.0), angle))
    assert len(level) == 1 and len(turned) == 1
    # The eye line turns with the face (counter-clockwise: the right eye rises, the angle falls).
    measured = detect.eye_angle(turned.landmarks[0]) - detect.eye_angle(level.landmarks[0])
    assert abs(measured + angle) < 4
    # Aligned, the tilted face's crop is the level face's crop; the box crop is not.
    grey_turned = classify.to_grey(tilted(photo, (200.0, 200.0), angle))
    reference = detect.crop_faces(classify.to_grey(photo), level)[0]
    aligned = detect.crop_faces(grey_turned, turned)[0]
    unaligned = detect.crop_face(grey_turned, turned.boxes[0], 0.025)
    assert blurred_correlation(aligned, reference) > 0.9
    assert blurred_correlation(aligned, reference) > blurred_correlation(unaligned, reference) + 0.05
    # And it is framed like the FER2013 face itself.
    assert blurred_correlation(aligned, face) > 0.8


def test_classify_photo_with_mtcnn(faces, mtcnn, tmp_path):
    import keras

    from conftest import TINY
    from fer_workflow import models

    keras.utils.set_random_seed(1)
    model = models.build_cnn(TINY["cnn"] | {"separable": False, "dense_dropout": 0.0})
    photo, placed = scenes.place_faces(faces[:3], np.random.default_rng(0))
    cv2.imwrite(str(tmp_path / "group.jpg"), photo)
    result = classify.classify_photo(str(tmp_path / "group.jpg"), model, detector=mtcnn)
    assert len(result.table) == len(result.crops) >= 2
    assert list(result.table["face"]) == list(range(1, len(result.table) + 1))
