# The videos of classify.videos, listed when the workflow starts (rule
# classify_video in video.smk), and the outputs rule all asks for.
from fer_workflow.use import photos as _photos


def classify_video_files():
    """{name: path} of the videos classify.videos names (a bad entry fails here, at start)."""
    try:
        return _photos.video_files(config["classify"].get("videos") or [])
    except ValueError as error:
        raise WorkflowError(str(error)) from None


VIDEOS = classify_video_files()


def video_targets():
    """Each configured video's table, timeline figure and annotated video (none without videos)."""
    return expand(
        R("classify/videos/{video}{suffix}"),
        video=sorted(VIDEOS),
        suffix=[".csv", "_timeline.png", "_annotated.mp4"],
    )
