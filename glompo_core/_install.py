"""How GloMPO's own distributions are installed: from a clone, since no package index has them.

``pip install glompo-cma`` fails with "No matching distribution found": the
distributions are not on PyPI (or any index) yet. Error messages that tell a user to
install one give the command that works, from the root of a clone of the repository,
through :func:`install_hint`.

>>> print(install_hint("glompo-cma"))  # doctest: +NORMALIZE_WHITESPACE
pip install glompo-cma (not on a package index yet: from the root of a clone of GloMPO,
pip install ./plugins/glompo-cma)
>>> install_hint("pandas")
'pip install pandas'
"""

from __future__ import annotations

__all__ = ["CLONE_PATHS", "install_hint"]

#: Where each first-party distribution lives in a clone of the GloMPO repository.
CLONE_PATHS: dict[str, str] = {
    "glompo-core": ".",
    "glompo-cma": "./plugins/glompo-cma",
    "glompo-dask": "./plugins/glompo-dask",
    "glompo-dashboard": "./plugins/glompo-dashboard",
    "glompo-hdf5": "./plugins/glompo-hdf5",
    "glompo-nevergrad": "./plugins/glompo-nevergrad",
    "glompo-scipy": "./plugins/glompo-scipy",
    "glompo-scope": "./plugins/glompo-scope",
}


def install_hint(distribution: str) -> str:
    """The pip command that installs ``distribution``, as an error message gives it.

    Parameters
    ----------
    distribution
        A distribution name, with extras if any (``"glompo-dask[jobqueue]"``).

    Returns
    -------
    str
        For GloMPO's own distributions, ``pip install <name>`` followed by the command
        that works from a clone, since they are not on a package index yet; for any
        other distribution, ``pip install <name>``.
    """
    name, bracket, extras = distribution.partition("[")
    path = CLONE_PATHS.get(name.strip().lower())
    if path is None:
        return f"pip install {distribution}"
    target = f'"{path}[{extras}"' if bracket else path
    return (f"pip install {distribution} (not on a package index yet: from the root of a "
            f"clone of GloMPO, pip install {target})")
