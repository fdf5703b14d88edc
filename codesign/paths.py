"""Where the non-Python parts of codesign (rtl/, hls/, boards/, configs/, the testbenches'
HDL in rtl_sim/) live.

In a wheel rtl/, hls/, boards/ and configs/ are shipped under ``codesign/_data`` and rtl_sim is
a package beside codesign; in a source checkout they are the top-level folders next to
the package.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``name`` (one of rtl, hls, boards, configs, rtl_sim).

    >>> data_dir("rtl").name
    'rtl'
    """
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"codesign data folder {name!r} not found under {_PACKAGE}")
