"""Streams: a file played as a live source (each frame read at its time); a
processor slower than the frames drops the ones it has no time for, says
how many, and its rows carry the frame index and the time in seconds."""

import io
import threading
import time

import cv2
import numpy as np
import pandas as pd
import pytest

from fer_workflow.use import cli, detect, stream, video


def write_counter_video(path, n_frames=30, fps=20.0, size=(64, 48)):
    """Frame k is uniformly grey level 8 * k (the frame tells its index)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    for k in range(n_frames):
        writer.write(np.full((size[1], size[0], 3), 8 * k % 250, np.uint8))
    writer.release()
    return path


def test_latest_frame_keeps_the_newest_and_counts_the_dropped():
    box = stream.LatestFrame()
    for k in range(3):
        box.put(k)
    assert box.take() == 2 and box.dropped == 2 and box.put_count == 3
    box.put(3)
    box.close()
    assert box.take() == 3 and box.take() is None and box.dropped == 2


def test_take_waits_for_the_reader():
    box = stream.LatestFrame()
    threading.Timer(0.05, box.put, args=("late",)).start()
    assert box.take() == "late"


def test_sampler_without_a_frame_rate_samples_by_time():
    sample = stream.Sampler(0, sample_fps=5)
    times = [0.0, 0.05, 0.19, 0.21, 0.25, 0.41, 1.0]
    assert [t for t in times if sample(0, t)] == [0.0, 0.21, 0.41, 1.0]


def played(path, sample_fps, work_s):
    """Play ``path`` as a stream and take ``work_s`` seconds per frame taken."""
    capture, info = stream.open_source(str(path))
    frames = stream.RealtimeFrames(capture, info, sample_fps, pace=True)
    start, taken = time.monotonic(), []
    for index, time_s, frame in frames:
        assert time_s == pytest.approx(index / info.fps)
        assert abs(int(frame[0, 0, 0]) - 8 * index % 250) <= 6  # the frame handed on is that index's
        taken.append(index)
        time.sleep(work_s)
    capture.release()
    return frames, taken, time.monotonic() - start, info


def test_a_slow_processor_drops_frames_and_keeps_real_time(tmp_path):
    path = write_counter_video(tmp_path / "clip.mp4", n_frames=30, fps=20.0)
    frames, taken, elapsed, info = played(path, sample_fps=20, work_s=0.12)
    assert frames.sampled == 30 and frames.read == 30
    assert frames.dropped > 10  # 1 frame in 0.12 s keeps up with about 8 of the 20 a second
    assert frames.processed == len(taken) == frames.sampled - frames.dropped
    assert taken == sorted(taken) and taken[-1] >= 27  # the newest frame, to the end
    assert elapsed < 30 / 20 + 0.5  # it ends with the stream, not 30 x 0.12 s later


def test_a_fast_processor_drops_nothing(tmp_path):
    path = write_counter_video(tmp_path / "clip.mp4", n_frames=20, fps=20.0)
    frames, taken, _, _ = played(path, sample_fps=5, work_s=0.0)
    assert frames.dropped == 0
    assert taken == list(video.sample_frames(20, 20.0, 5))  # the rule's sampled frames


class OneFace:
    """A detector stub: one face, the same box on every frame."""

    kind = "haar"

    def detect(self, image):
        return detect.Faces(np.array([[8, 4, 40, 40]]))


class SlowToy:
    """A stand-in model: uniform probabilities, 0.1 s a call."""

    def predict_on_batch(self, x):
        time.sleep(0.1)
        return np.full((len(x), 7), 1 / 7, np.float32)


@pytest.mark.parametrize("realtime", [False, True])
def test_video_command_rows_and_dropped_count(tmp_path, capsys, monkeypatch, realtime):
    path = write_counter_video(tmp_path / "clip.mp4", n_frames=30, fps=20.0)
    monkeypatch.setattr(detect.Detector, "detect", OneFace.detect)
    monkeypatch.setattr("fer_workflow.use.export.load", lambda path, threads=None: SlowToy())
    argv = ["video", str(path), "--fps", "20", "--calibration", "none"] + (["--realtime"] if realtime else [])
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == video.COLUMNS
    np.testing.assert_allclose(table["time_s"], table["frame"] / 20.0, atol=1e-4)
    assert set(table["face_id"]) == {1}
    summary = err.strip().splitlines()[-1]
    if realtime:
        assert 0 < len(table) < 30 and f"{30 - len(table)} dropped" in summary
    else:
        assert len(table) == 30 and "0 dropped" in summary
    assert "x real time" in summary


def test_video_command_json_lines(tmp_path, capsys, monkeypatch):
    import json

    path = write_counter_video(tmp_path / "clip.mp4", n_frames=10, fps=10.0)
    monkeypatch.setattr(detect.Detector, "detect", OneFace.detect)
    monkeypatch.setattr("fer_workflow.use.export.load", lambda path, threads=None: SlowToy())
    assert cli.main(["video", str(path), "--fps", "5", "--json", "--calibration", "none"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["frame"] for r in rows] == [0, 2, 4, 6, 8]
    assert [r["time_s"] for r in rows] == [0.0, 0.2, 0.4, 0.6, 0.8]


def test_a_stream_that_does_not_open_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr("fer_workflow.use.export.load", lambda path, threads=None: SlowToy())
    assert cli.main(["video", "rtsp://127.0.0.1:9/none"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("fer-workflow: error: cannot open stream 'rtsp://127.0.0.1:9/none'")
