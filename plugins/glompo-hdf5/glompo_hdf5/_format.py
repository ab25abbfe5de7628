"""The layout of ``glompo_log.h5`` and how metadata is stored in HDF5 attributes.

Shared by the writer (:mod:`glompo_hdf5.filelogger`) and the reader
(:mod:`glompo_hdf5.reader`). Functions taking PyTables nodes are only called once
:mod:`tables` has been imported by the caller; this module never imports it.

Attribute encoding
------------------
A metadata value is stored as a native HDF5 attribute when it is a string (UTF-8), a
bool, an int, a float, or a non-empty list/array of numbers (stored as a numeric array).
Anything else (dicts, None, mixed lists, objects) is stored as **YAML text**; the names
of those attributes are listed, as a YAML list, in the attribute ``glompo_yaml_attrs`` of
the same node, so a reader knows which to parse. A value too large for an HDF5 attribute
(over :data:`MAX_ATTR_BYTES`) is stored as a scalar array node ``_large_attrs/<name>``
under the node instead, and its name is listed in ``glompo_large_attrs``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import yaml

__all__ = [
    "FORMAT_VERSION",
    "GROUP_PREFIX",
    "LARGE_ATTRS",
    "LARGE_GROUP",
    "MAX_ATTR_BYTES",
    "MESSAGES",
    "TABLE",
    "YAML_ATTRS",
    "column_name",
    "group_name",
    "opt_id_of",
    "plain",
    "read_attrs",
    "to_yaml",
    "write_attrs",
]

#: Version of the file layout, stored in the root attribute ``glompo_log_format``.
FORMAT_VERSION = 1
#: Each optimizer's group is ``/optimizer_<opt_id>``.
GROUP_PREFIX = "optimizer_"
#: The table of evaluations inside an optimizer's group.
TABLE = "iter_history"
#: The VLArray of messages inside an optimizer's group.
MESSAGES = "messages"
#: Attribute listing (as YAML) the attributes of a node that hold YAML text.
YAML_ATTRS = "glompo_yaml_attrs"
#: Attribute listing (as YAML) the values stored as nodes because they are too large.
LARGE_ATTRS = "glompo_large_attrs"
#: Child group holding the values too large for an attribute.
LARGE_GROUP = "_large_attrs"
#: Largest attribute written as an attribute (HDF5 refuses object headers over 64 KiB).
MAX_ATTR_BYTES = 48_000
#: Attributes written by the logger for its own bookkeeping (not metadata).
BOOKKEEPING = frozenset({YAML_ATTRS, LARGE_ATTRS})

_GROUP_RE = re.compile(rf"^{GROUP_PREFIX}(\d+)$")
RESERVED_COLUMNS = ("call_id", "x", "fx")


def group_name(opt_id: int) -> str:
    """Name of the group of optimizer ``opt_id`` (``optimizer_<opt_id>``)."""
    return f"{GROUP_PREFIX}{int(opt_id)}"


def opt_id_of(name: str) -> int | None:
    """The optimizer id of a group name, or None if it is not an optimizer's group."""
    match = _GROUP_RE.match(name)
    return int(match.group(1)) if match else None


def column_name(header: str, taken: set[str], index: int) -> str:
    """A valid, unique PyTables column name for the extra value called ``header``.

    Characters other than letters, digits and ``_`` become ``_``; a name not starting
    with a letter gets the prefix ``c_``; a clash (with ``call_id``, ``x``, ``fx`` or an
    earlier extra) gets a numeric suffix. The original header is kept in the table's
    ``extra_headers`` attribute.
    """
    name = re.sub(r"\W", "_", str(header), flags=re.ASCII) or f"extra_{index + 1}"
    if not name[0].isalpha():
        name = f"c_{name}"
    base, n = name, 2
    while name in taken or name in RESERVED_COLUMNS:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def plain(value: Any) -> Any:
    """Convert numpy values, tuples, classes and other objects into YAML-safe plain data."""
    if isinstance(value, dict):
        return {k if isinstance(k, (int, float, bool)) else str(k): plain(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, str):
        return str(value)  # also str subclasses (the summary's literal blocks)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def to_yaml(value: Any) -> str:
    """YAML text of ``value`` (after :func:`plain`), loadable with ``yaml.safe_load``."""
    return yaml.safe_dump(plain(value), sort_keys=False, default_flow_style=None,
                          allow_unicode=True, width=100)


def _encode(value: Any) -> tuple[Any, bool]:
    """(what to store, is it YAML text) for one metadata value."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value), False
    if isinstance(value, (int, np.integer)):
        if -2**63 <= int(value) < 2**63:
            return np.int64(value), False
        return to_yaml(int(value)), True
    if isinstance(value, (float, np.floating)):
        return np.float64(value), False
    if isinstance(value, str):
        return str(value), False
    if isinstance(value, (list, tuple, np.ndarray)):
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):
            arr = None
        if arr is not None and arr.size > 0 and arr.dtype.kind in "biuf" and arr.dtype != object:
            return (arr.astype(np.float64) if arr.dtype.kind == "f" else
                    arr.astype(np.int64) if arr.dtype.kind in "iu" else arr), False
    return to_yaml(value), True


def _nbytes(stored: Any) -> int:
    if isinstance(stored, str):
        return len(stored.encode("utf-8"))
    return int(np.asarray(stored).nbytes)


def _yaml_list(node: Any, name: str) -> list[str]:
    attrs = node._v_attrs
    if name not in attrs._v_attrnamesuser:
        return []
    loaded = yaml.safe_load(_decode_scalar(attrs[name]))
    return [str(v) for v in loaded] if isinstance(loaded, list) else []


def _node_name(key: str) -> str:
    return key.replace("/", "_").replace(".", "_") or "_"


def write_attrs(h5file: Any, node: Any, values: dict[str, Any], *, replace: bool = False
                ) -> None:
    """Store ``values`` as metadata attributes of ``node`` (see the module docstring).

    Parameters
    ----------
    h5file
        The open ``tables.File``.
    node
        The group or leaf whose attributes are written.
    values
        Metadata to store; keys are attribute names.
    replace
        Also delete the metadata attributes of ``node`` that are not in ``values``.
    """
    import warnings

    import tables

    attrs = node._v_attrs
    yaml_keys = set(_yaml_list(node, YAML_ATTRS))
    large_keys = set(_yaml_list(node, LARGE_ATTRS))
    large_group = getattr(node, LARGE_GROUP, None) if isinstance(node, tables.Group) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tables.NaturalNameWarning)
        if replace:
            for name in list(attrs._v_attrnamesuser):
                if name not in values and name not in BOOKKEEPING:
                    del attrs[name]
                    yaml_keys.discard(name)
            for name in list(large_keys):
                if name not in values:
                    large_keys.discard(name)
                    yaml_keys.discard(name)
                    if large_group is not None and _node_name(name) in large_group:
                        h5file.remove_node(large_group, _node_name(name))
        for key, value in values.items():
            stored, is_yaml = _encode(value)
            if is_yaml:
                yaml_keys.add(key)
            else:
                yaml_keys.discard(key)
            if _nbytes(stored) > MAX_ATTR_BYTES and isinstance(node, tables.Group):
                if key in attrs._v_attrnamesuser:
                    del attrs[key]
                if large_group is None:
                    large_group = h5file.create_group(node, LARGE_GROUP,
                                                      "metadata too large for attributes")
                name = _node_name(key)
                if name in large_group:
                    h5file.remove_node(large_group, name)
                obj = np.array(stored.encode("utf-8")) if isinstance(stored, str) else stored
                h5file.create_array(large_group, name, obj=obj, title=key)
                large_keys.add(key)
            else:
                if key in large_keys and large_group is not None and \
                        _node_name(key) in large_group:
                    h5file.remove_node(large_group, _node_name(key))
                large_keys.discard(key)
                attrs[key] = stored
        attrs[YAML_ATTRS] = to_yaml(sorted(yaml_keys))
        attrs[LARGE_ATTRS] = to_yaml(sorted(large_keys))


def _decode_scalar(value: Any) -> Any:
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return _decode_scalar(value[()])
    return value


def read_attrs(node: Any) -> dict[str, Any]:
    """The metadata attributes of ``node``, decoded (YAML parsed, large values read back).

    PyTables' own attributes (``CLASS``, ``TITLE``, ...) and the bookkeeping attributes
    are left out. Strings come back as ``str``, numeric arrays as numpy arrays.
    """
    import tables

    attrs = node._v_attrs
    yaml_keys = set(_yaml_list(node, YAML_ATTRS))
    large_keys = _yaml_list(node, LARGE_ATTRS)
    out: dict[str, Any] = {}
    for name in attrs._v_attrnamesuser:
        if name in BOOKKEEPING:
            continue
        value = _decode_scalar(attrs[name])
        out[name] = yaml.safe_load(value) if name in yaml_keys and isinstance(value, str) \
            else value
    large_group = getattr(node, LARGE_GROUP, None) if isinstance(node, tables.Group) else None
    for key in large_keys:
        if large_group is None or _node_name(key) not in large_group:
            continue
        value = _decode_scalar(large_group._f_get_child(_node_name(key)).read())
        out[key] = yaml.safe_load(value) if key in yaml_keys and isinstance(value, str) \
            else value
    return out
