"""Where the onsite payload (``stubs/``: header.sh, onsite/, site.example.toml) is read from.

In a source checkout ``stubs/`` sits at the top of the repo (the product's design card puts it
there). An installed wheel carries the same files as package data of ``builder`` (pyproject's
package-dir mapping ``builder.stubs = stubs``), found with ``importlib.resources``.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from builder.errors import BundleError

_CHECKOUT_STUBS = Path(__file__).resolve().parent.parent / "stubs"


def stubs_dir() -> Path:
    """The directory holding header.sh and onsite/ (installed package data first)."""
    packaged = importlib.resources.files("builder").joinpath("stubs")
    if packaged.is_dir():
        return Path(str(packaged))
    if _CHECKOUT_STUBS.is_dir():
        return _CHECKOUT_STUBS
    raise BundleError("onsite-missing", "this ha-bundle installation has no onsite payload (stubs/)",
                      [f"looked in {packaged} and {_CHECKOUT_STUBS}"],
                      hint="reinstall ha-bundle from a complete wheel or run it from a source checkout")


def header_template() -> str:
    path = stubs_dir() / "header.sh"
    try:
        return path.read_text()
    except OSError as exc:
        raise BundleError("onsite-missing", f"cannot read the installer header {path}", [str(exc.strerror)],
                          hint="reinstall ha-bundle from a complete wheel") from None
