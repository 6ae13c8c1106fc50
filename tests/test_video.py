"""Faces in videos: which frames are sampled and when, tracking that keeps
ids through motion and missed frames, the error paths (truncated video,
refused size, no face) on videos the tests write themselves, and the whole
pipeline on a composited video of moving FER2013 faces."""

import logging
import time

import cv2
import numpy as np
import pytest
from test_classify import FER2013

import scenes
from conftest import ONEDNN
from fer_workflow.use import classify, detect, video


def write_counter_video(path, n_frames=20, fps=10.0, size=(64, 48), fourcc="mp4v"):
    """A small video whose frame k is uniformly grey level 10 * k modulo 250 (a frame tells its index)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened()
    for k in range(n_frames):
        writer.write(np.full((size[1], size[0], 3), 10 * k % 250, np.uint8))
    writer.release()
    return path


class NoFaces:
    """A detector stub that finds nothing (the error paths need no model)."""

    def detect(self, image):
        return detect.Faces(np.zeros((0, 4), np.int64))


# --- sampling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_frames", "fps", "sample_fps", "expected"),
    [
        (200, 25.0, 5.0, list(range(0, 200, 5))),
        (61, 30.0, 5.0, list(range(0, 61, 6))),
        (10, 10.0, 25.0, list(range(10))),  # faster than the video: every frame
        (12, 29.97, 5.0, [0, 5, 11]),  # NTSC: the frame shown at 0, 0.2, 0.4 s
    ],
)
def test_sample_frames(n_frames, fps, sample_fps, expected):
    frames = video.sample_frames(n_frames, fps, sample_fps)
    assert frames.tolist() == expected
    # Each sampled frame is the one on screen at its sampling time k / sample_fps.
    for k, frame in enumerate(frames):
        if fps > sample_fps:
            assert frame / fps <= k / sample_fps + 1e-9 < (frame + 1) / fps
    assert [f for f in range(n_frames) if video.is_sampled(f, fps, sample_fps)] == expected


def test_sampled_frames_and_times_from_a_video(tmp_path):
    path = write_counter_video(tmp_path / "count.mp4", n_frames=20, fps=10.0)
    capture, info = video.open_video(str(path))
    assert (info.fps, info.frames, info.width, info.height) == (10.0, 20, 64, 48)
    sampled = list(video.sampled_frames(capture, info, sample_fps=5))
    assert [index for index, _, _ in sampled] == list(range(0, 20, 2))
    np.testing.assert_allclose([t for _, t, _ in sampled], np.arange(10) * 0.2)
    # The pixels are those of the frame with that index (grey level 10 * index, give or take the codec).
    levels = [float(frame.mean()) for _, _, frame in sampled]
    np.testing.assert_allclose(levels, [10 * i for i in range(0, 20, 2)], atol=4)


# --- tracking ---------------------------------------------------------------------------------


def test_tracking_keeps_ids_through_motion_and_a_missed_frame():
    tracker = video.Tracker(min_iou=0.3, max_missed=2)
    start = np.array([[20, 20, 60, 60], [200, 40, 60, 60], [120, 150, 70, 70]], float)
    speed = np.array([[12, 0, 0, 0], [-10, 6, 0, 0], [0, -9, 0, 0]], float)  # pixels per sampled frame
    seen = []
    for step in range(12):
        boxes = start + step * speed
        order = [2, 0, 1] if step % 2 else [0, 1, 2]  # the detector lists faces in any order
        keep = [k for k in order if not (k == 1 and step in (5, 6))]  # face 1 missed twice
        ids = tracker.update(boxes[keep])
        seen.append(dict(zip(keep, ids.tolist(), strict=True)))
    for k in range(3):
        assert {frame[k] for frame in seen if k in frame} == {k + 1}
    # Face 1 moved (-30, 18) pixels while missed: its last box overlaps the new
    # one by IoU 0.21 only, below min_iou; the predicted box keeps it matched.
    assert tracker.next_id == 4


def test_a_track_ends_after_max_missed_frames_and_a_new_face_gets_a_new_id():
    tracker = video.Tracker(min_iou=0.3, max_missed=1)
    box = np.array([[50, 50, 40, 40]], float)
    assert tracker.update(box).tolist() == [1]
    tracker.update(np.zeros((0, 4)))
    tracker.update(np.zeros((0, 4)))  # missed twice: more than max_missed
    assert tracker.update(box).tolist() == [2]
    # A box far from every track starts a new one; a near one continues.
    assert tracker.update(np.array([[52, 50, 40, 40], [300, 300, 40, 40]], float)).tolist() == [2, 3]


def test_hungarian_assignment_beats_greedy():
    # Greedy (best pair first) would give box A's track to the middle box and
    # leave the other with nothing; the assignment maximises the total overlap.
    tracker = video.Tracker(min_iou=0.2, max_missed=0)
    tracker.update(np.array([[0, 0, 100, 100], [60, 0, 100, 100]], float))
    ids = tracker.update(np.array([[27, 0, 100, 100], [-40, 0, 100, 100]], float))
    assert ids.tolist() == [2, 1]


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10], [5, 5, 10, 10]])
    got = video.iou_matrix(a, a[:1])
    np.testing.assert_allclose(got[:, 0], [1.0, 25 / 175])
    assert video.iou_matrix(np.zeros((0, 4)), a).shape == (0, 2)


# --- errors and empty videos ------------------------------------------------------------------


def test_truncated_mp4_fails_naming_the_file(tmp_path):
    path = write_counter_video(tmp_path / "cut.mp4", n_frames=30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # OpenCV's mp4 has its index at the end: it goes
    with pytest.raises(video.UnreadableVideo, match=r"cannot read video '.*cut\.mp4'.*truncated"):
        video.classify_video(str(path), None, NoFaces())


def test_video_cut_in_the_middle_fails_where_decoding_stops(tmp_path):
    # An AVI (MJPEG) keeps its header at the start: it opens, then its frames run out.
    path = write_counter_video(tmp_path / "cut.avi", n_frames=40, fourcc="MJPG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    start = time.perf_counter()
    with pytest.raises(video.UnreadableVideo, match=r"cut\.avi'.*decoding stopped at frame \d+ of the 40"):
        video.classify_video(str(path), None, NoFaces())
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100])
def test_not_a_video_fails_naming_the_file(tmp_path, content):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(video.UnreadableVideo, match=r"cannot read video '.*bad\.mp4'"):
        video.classify_video(str(path), None, NoFaces())
    with pytest.raises(video.UnreadableVideo, match="no such file"):
        video.open_video(str(tmp_path / "missing.mp4"))


def test_video_without_faces_gives_an_empty_table(tmp_path, caplog):
    path = write_counter_video(tmp_path / "empty.mp4", n_frames=10)
    annotated = str(tmp_path / "annotated.mp4")
    with caplog.at_level(logging.INFO):
        result = video.classify_video(str(path), None, NoFaces(), sample_fps=5, annotated=annotated)
    assert result.table.empty and list(result.table.columns) == video.COLUMNS
    assert result.frames == 5
    assert "no face found in its 5 sampled frames; the table is empty" in caplog.text
    assert video.check_written_video(annotated, 5) == 5
    fig = video.timeline_figure(result.table, "empty")
    assert fig.axes[0].texts[0].get_text() == "no face found"


def test_oversized_video_is_refused_from_its_header(tmp_path):
    # A real 10000 x 6000 frame (60 megapixels): one grey MJPEG frame, 400 KB.
    path = str(tmp_path / "huge.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 1.0, (10000, 6000), isColor=False)
    writer.write(np.full((6000, 10000), 128, np.uint8))
    writer.release()
    start = time.perf_counter()
    with pytest.raises(video.VideoTooLarge) as error:
        video.classify_video(path, None, NoFaces(), max_pixels=50_000_000)
    assert time.perf_counter() - start < 2
    message = str(error.value)
    assert "huge.avi" in message and "10000x6000 = 60,000,000 pixels" in message
    assert "classify.max_pixels = 50,000,000" in message
    # The same limit on a small video: refused too, before a frame is read.
    small = write_counter_video(tmp_path / "small.mp4")
    with pytest.raises(
        video.VideoTooLarge, match="64x48 = 3,072 pixels, more than classify.max_pixels = 3,000"
    ):
        video.open_video(str(small), max_pixels=3000)


# --- which videos -----------------------------------------------------------------------------


def test_video_files_from_files_folders_and_patterns(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a.mp4", "b.AVI", "notes.txt", ".hidden.mp4"):
        (folder / name).write_bytes(b"x")
    (tmp_path / "c.mov").write_bytes(b"x")
    (tmp_path / "d.data").write_bytes(b"x")
    got = video.video_files([str(folder), str(tmp_path / "*.mov"), str(tmp_path / "d.data")])
    assert sorted(got) == ["a", "b", "c", "d"]
    assert got["d"] == str(tmp_path / "d.data")  # a file named explicitly is taken as it is
    assert video.video_files("") == {} and video.video_files([]) == {}
    assert video.video_files(str(folder / "a.mp4")) == {"a": str(folder / "a.mp4")}
    with pytest.raises(ValueError, match=r"classify.videos: the pattern '.*\*.mkv' matches no file"):
        video.video_files([str(tmp_path / "*.mkv")])
    with pytest.raises(ValueError, match="is not a file, a folder or a glob pattern"):
        video.video_files([str(tmp_path / "missing.mp4")])
    (tmp_path / "a.mp4").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"would both write results/classify/videos/a.csv"):
        video.video_files([str(folder), str(tmp_path / "a.mp4")])


# --- the whole pipeline on moving FER2013 faces -----------------------------------------------


@pytest.fixture(scope="module")
def tiny_model():
    import keras

    from conftest import TINY
    from fer_workflow import models

    keras.config.set_floatx("float32")
    keras.utils.set_random_seed(1)
    return models.build_cnn(TINY["cnn"] | {"separable": False, "dense_dropout": 0.0})


@pytest.mark.skipif(FER2013 is None, reason="../shared/data/fer2013 not found")
@pytest.mark.parametrize("kind", ["haar", "mtcnn"])
def test_moving_faces_keep_their_ids(tmp_path, tiny_model, kind):
    faces, labels = scenes.read_csv_faces(FER2013, 12)
    path = str(tmp_path / "clip.mp4")
    scene = scenes.write_video(path, faces[[0, 1, 4, 5, 8, 9]], labels[[0, 1, 4, 5, 8, 9]], n_faces=3,
                                     seconds=2.0, width=480, height=270, side=90, radius=(30, 15))  # fmt: skip
    result = video.classify_video(path, tiny_model, detect.Detector(kind), sample_fps=5, annotated=None)
    table = result.table
    assert result.frames == 10 and set(table["frame"]) <= set(range(0, 50, 5))
    np.testing.assert_allclose(table["time_s"], table["frame"] / 25.0)
    # Each placed face: the detections that overlap it carry one id, a different one per face.
    ids = []
    for k in range(3):
        found = []
        for _, row in table.iterrows():
            truth = scene.boxes[row["frame"], k]
            if scenes.box_overlap(truth, row[["x", "y", "w", "h"]].to_numpy(int)) > 0.3:
                found.append(row["face_id"])
        assert len(found) >= 8, f"face {k} found in {len(found)} of 10 frames ({kind})"
        assert len(set(found)) == 1, f"face {k} has ids {sorted(set(found))} ({kind})"
        ids.append(found[0])
    assert len(set(ids)) == 3
    probs = table[list(classify.CLASS_NAMES)].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)


@pytest.mark.skipif(FER2013 is None, reason="../shared/data/fer2013 not found")
@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_video_faces_get_the_photos_probabilities(tiny_model, temperature):
    """One compiled call for crops and mirrors gives what classify_crops gives a photo's faces."""
    faces = scenes.read_csv_faces(FER2013, 5)[0]
    got = video.predict_faces(tiny_model, faces, tta_flip=True, temperature=temperature)
    expected = classify.classify_crops(tiny_model, faces, tta_flip=True, temperature=temperature)
    np.testing.assert_allclose(got, expected, **ONEDNN)
