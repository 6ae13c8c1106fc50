"""Rule classify_video in the workflow: a folder of videos gives one job per
video, each writing its table, timeline and annotated video; a truncated
video fails its own job, naming the file, and the other video's job
finishes (--keep-going); without videos the rule is not part of the run."""

import cv2
import numpy as np
import pandas as pd
import pytest
from test_classify import FER2013

import scenes
from conftest import END_OF_RUN, merge
from fer_workflow.use import video

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(FER2013 is None, reason="../shared/data/fer2013 not found"),
]


def test_videos_in_the_workflow(completed_tiny_workflow, tmp_path):
    wf = completed_tiny_workflow.clone(tmp_path / "wf")
    folder = wf.path("videos")
    folder.mkdir()
    faces, labels = scenes.read_csv_faces(FER2013, 6)
    scenes.write_video(folder / "clip.mp4", faces, labels, n_faces=3, seconds=2.0, width=480, height=270,
                             side=90, radius=(30, 15))  # fmt: skip
    scenes.write_video(
        folder / "cut.mp4", faces, labels, n_faces=1, seconds=1.0, width=160, height=120, side=60
    )
    data = (folder / "cut.mp4").read_bytes()
    (folder / "cut.mp4").write_bytes(data[: len(data) // 3])
    assert wf.dry_run_jobs(config=wf.config) == {}  # no videos configured: nothing to do
    config = merge(wf.config, {"classify": {"videos": ["videos"], "video_fps": 5}})
    assert wf.dry_run_jobs(config=config) == {**END_OF_RUN, "classify_video": 2}

    proc = wf.run("--keep-going", "--show-failed-logs", config=config, check=False)
    assert proc.returncode != 0
    assert "cannot read video 'videos/cut.mp4'" in proc.output
    out = wf.path("results/classify/videos")
    assert not (out / "cut.csv").exists()
    table = pd.read_csv(out / "clip.csv")
    assert list(table.columns) == video.COLUMNS
    assert sorted(set(table["frame"])) == list(range(0, 50, 5))
    assert table["face_id"].nunique() >= 2
    capture = cv2.VideoCapture(str(out / "clip_annotated.mp4"))
    assert capture.isOpened() and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    ok, frame = capture.read()
    assert ok and frame.shape == (270, 480, 3) and np.asarray(frame).std() > 0
    assert (out / "clip_timeline.png").stat().st_size > 0
    log = wf.path("results/logs/classify_video/clip.log").read_text()
    assert "x real time" in log

    # A video knob reruns the video jobs only. (4, not 5: Snakemake compares the
    # set of a job's parameter values, without their names, so 3 -> 5 goes
    # unseen while min_neighbors is 3 and video_fps 5.)
    changed = merge(config, {"classify": {"track_max_missed": 4, "videos": ["videos/clip.mp4"]}})
    assert wf.dry_run_jobs(config=changed) == {**END_OF_RUN, "classify_video": 1}
