"""Which photos ``classify.images`` and which videos ``classify.videos`` name,
and the size check made on a photo's header before it is decoded. Standard
library only (Pillow is imported by ``check_image_size`` itself), so the
Snakefile lists photos and videos without loading OpenCV or Keras.

``classify.images`` is one entry or a list of them; each is a folder (the
JPEG and PNG photos directly in it), a photo file, or a glob pattern
(``photos/*.jpg``, ``trip/**/*.png``: ``**`` crosses folders). Each photo is
its own job, named by its file name, so adding a photo to a folder runs that
photo's job alone.
"""

import glob
import os

# What rule classify_photo reads (case-insensitive); other files are ignored in folders.
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
GLOB_CHARS = set("*?[")


class UnreadableImage(ValueError):
    """A photo that cannot be classified; the message names the file and the reason."""


class ImageTooLarge(UnreadableImage):
    """A photo whose header declares more pixels than classify.max_pixels."""


def is_photo(path):
    return os.path.basename(path).lower().endswith(PHOTO_EXTENSIONS) and not os.path.basename(
        path
    ).startswith(".")


def _entry_photos(entry):
    if os.path.isdir(entry):
        return sorted(
            os.path.join(entry, name)
            for name in os.listdir(entry)
            if is_photo(name) and os.path.isfile(os.path.join(entry, name))
        )
    if GLOB_CHARS & set(entry):
        matches = sorted(p for p in glob.glob(entry, recursive=True) if os.path.isfile(p) and is_photo(p))
        if not matches:
            raise ValueError(f"classify.images: the pattern {entry!r} matches no JPEG or PNG photo")
        return matches
    if os.path.isfile(entry):
        if not is_photo(entry):
            raise ValueError(f"classify.images: {entry!r} is not a .jpg, .jpeg or .png file")
        return [entry]
    raise ValueError(f"classify.images: {entry!r} is not a folder, a photo or a pattern that matches one")


def list_photos(images):
    """``{name: path}`` of the photos ``images`` names (a string or a list;
    empty: none), sorted by name. The name (the job's wildcard) is the file
    name; two different files of the same name raise ValueError naming both."""
    entries = [images] if isinstance(images, str) else list(images or [])
    found = {}
    for entry in (str(e) for e in entries if str(e)):
        for path in _entry_photos(entry):
            name = os.path.basename(path)
            other = found.get(name)
            if other is not None and os.path.realpath(other) != os.path.realpath(path):
                raise ValueError(
                    f"classify.images: two photos are named {name!r} ({other!r} and {path!r}); "
                    "the outputs are named by file name, so rename one"
                )
            found.setdefault(name, path)
    return dict(sorted(found.items()))


def image_size(path):
    """(width, height) from the image file's header, or None if Pillow cannot identify it.

    Pillow's ``Image.open`` reads the header only; nothing is decoded. Its
    own decompression-bomb guard is lifted for this call, since the caller
    compares the size with its own limit.
    """
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, ValueError, SyntaxError):  # not an image Pillow knows: OpenCV decides
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def check_image_size(path, max_pixels):
    """Raise ImageTooLarge if the header of the image at ``path`` declares more
    than ``max_pixels`` pixels (width x height), naming the file, its size
    and the limit; returns (width, height), or None when the header cannot
    be read (the decoder then reports the file as unreadable). Reads only the
    header, so a small PNG that would decode to 900 megapixels is refused in
    milliseconds. ``max_pixels`` 0 or None: no limit.
    """
    size = image_size(path)
    if size is None or not max_pixels:
        return size
    width, height = size
    if width * height > int(max_pixels):
        raise ImageTooLarge(
            f"photo {str(path)!r} is {width} x {height} pixels ({width * height / 1e6:.1f} megapixels), "
            f"over the limit classify.max_pixels = {int(max_pixels):,} ({int(max_pixels) / 1e6:g} megapixels); "
            "refused from its header without decoding it (raise classify.max_pixels to classify it)"
        )
    return size


# --- which videos (listed when the workflow is parsed: no OpenCV here) -----------------------------------------------------------------------------


def video_files(entries):
    """{name: path} of the videos that ``entries`` name (classify.videos: a
    string or a list of files, folders and glob patterns). A folder gives its
    files with a VIDEO_EXTENSIONS ending (not its subfolders'), a pattern the
    files it matches; a named file is taken whatever its ending. The name is
    the file name without its ending (the outputs' names), so two videos with
    the same name are an error, as is an entry that names nothing."""
    if isinstance(entries, str):
        entries = [entries] if entries else []
    found = {}
    for entry in entries:
        if os.path.isdir(entry):
            paths = sorted(
                os.path.join(entry, name)
                for name in os.listdir(entry)
                if not name.startswith(".")
                and name.lower().endswith(VIDEO_EXTENSIONS)
                and os.path.isfile(os.path.join(entry, name))
            )
        elif os.path.isfile(entry):
            paths = [entry]
        elif glob.has_magic(entry):
            paths = sorted(p for p in glob.glob(entry, recursive=True) if os.path.isfile(p))
            if not paths:
                raise ValueError(f"classify.videos: the pattern {entry!r} matches no file")
        else:
            raise ValueError(f"classify.videos: {entry!r} is not a file, a folder or a glob pattern")
        for path in paths:
            name = os.path.splitext(os.path.basename(path))[0]
            if name in found and os.path.abspath(found[name]) != os.path.abspath(path):
                raise ValueError(
                    f"classify.videos: {found[name]!r} and {path!r} would both write "
                    f"results/classify/videos/{name}.csv; rename one"
                )
            found[name] = path
    return found
