"""glompo-compass: an example third-party GloMPO plugin.

It adds one component of four kinds:

- :class:`CompassSearch`: a compass (coordinate pattern) search, registered as
  ``CompassSearch`` (alias ``compass``);
- :class:`StallSeconds`: stops an optimizer whose best value has not improved for a
  number of seconds of wall time;
- :class:`LatinHypercubeGenerator`: starts optimizers spread over the box, one Latin
  hypercube design at a time;
- :class:`JSONLinesLogger`: the in-memory log plus every evaluation as a line of JSON.

Once the distribution is installed (``pip install ./examples/third-party-plugin``), run
files and Python code name them like built-in components::

    >>> from glompo_core.plugins import get_plugin_manager
    >>> get_plugin_manager().get("optimizer", "compass").__name__  # doctest: +SKIP
    'CompassSearch'
"""

from __future__ import annotations

from glompo_compass.generator import LatinHypercubeGenerator
from glompo_compass.logger import JSONLinesLogger
from glompo_compass.optimizer import CompassSearch
from glompo_compass.stopper import StallSeconds

#: The distribution's version (the same as in pyproject.toml; a test checks it).
__version__ = "0.1.0"

__all__ = ["CompassSearch", "JSONLinesLogger", "LatinHypercubeGenerator", "StallSeconds",
           "__version__"]
