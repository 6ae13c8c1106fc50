"""The one way to write and read the workflow's arrays: ``.npz`` files.

``save`` writes what ``np.savez`` / ``np.savez_compressed`` write (plain
``np.load`` reads it), but byte-reproducibly: entries in the given order,
each with a fixed timestamp (``np.savez`` stamps the current time), so a
rerun with the same inputs writes identical bytes. ``load`` reads the
arrays back into a dict and names the file when it is missing, unreadable
or lacks an expected array.
"""

import io
import zipfile

import numpy as np

# The zip format's earliest date; any fixed date makes the bytes reproducible.
TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def save(path, arrays, compressed=True):
    """Write ``arrays`` (name -> array) to the ``.npz`` file ``path``.

    ``compressed`` deflates each entry (as ``np.savez_compressed``); without
    it entries are stored (as ``np.savez``: faster where the data barely
    compresses, like face pixels). Object arrays are refused (no pickles).
    """
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=TIMESTAMP)
            info.compress_type = method
            zf.writestr(info, buffer.getvalue())


def load(path, names=None, optional=()):
    """The arrays of the ``.npz`` file ``path`` as a dict (name -> array).

    ``names``: read only these, in this order; a missing one is an error
    that lists what the file holds. ``optional``: also these, where the file
    has them (files written before they existed still load). A file that is not a readable ``.npz``
    raises ``ValueError`` naming it (a missing file: ``FileNotFoundError``).
    """
    try:
        npz = np.load(path)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a readable .npz file ({err})") from err
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not a .npz file (it holds one array, written by np.save)")
    with npz:
        names = npz.files if names is None else list(names)
        names += [name for name in optional if name in npz.files and name not in names]
        missing = [name for name in names if name not in npz.files]
        if missing:
            raise ValueError(
                f"{path}: no array {', '.join(missing)} (it has {', '.join(npz.files) or 'none'})"
            )
        try:
            return {name: npz[name] for name in names}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(f"{path}: not a readable .npz file ({err})") from err
