"""A small on-disk cache of experiment results, keyed by a hash of their configuration.

Results are dataclasses whose fields are numpy arrays, lists or tuples of arrays,
numbers, strings, None, or lists/tuples/dicts of those. Arrays go to an ``.npz`` file
(loaded with ``allow_pickle=False``), everything else to ``.json``: never pickle, so a
cache file cannot run code and stays readable. A sweep that stores each finished run
resumes where an interruption stopped it. A file that cannot be read (truncated,
corrupted, from another configuration) is reported with a warning naming it,
removed, and the result computed again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import warnings
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

__all__ = ["ResultCache", "config_hash", "default_cache_dir"]

T = TypeVar("T")
STALE_TEMPORARY_SECONDS = 3600  # a temporary file this old belongs to a save that was interrupted


def default_cache_dir() -> Path:
    """``$LANDSCAPE_CACHE`` if set, else ``.landscape_cache`` in the working directory."""
    return Path(os.environ.get("LANDSCAPE_CACHE") or ".landscape_cache")


def _config_value(value, where: str):
    """A configuration value as JSON (arrays by content hash); keys must be strings."""
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise TypeError(f"config keys must be strings ({where} has key {bad[0]!r}): "
                            "1 and '1' would otherwise hash alike")
        return {k: _config_value(v, f"{where}[{k!r}]") for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_config_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return {"__array_sha256__": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest(),
                "shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        raise ValueError(f"config values must be finite ({where} is {value})")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"config values must be numbers, strings, lists, dicts or arrays; {where} is "
                    f"{type(value).__name__}")


def config_hash(config: dict) -> str:
    """A stable hash of a configuration (dict keys sorted; arrays hashed by content)."""
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    text = json.dumps(_config_value(config, "config"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _encode(value, name: str, arrays: dict):
    """A field as JSON; arrays are moved into ``arrays`` under generated names."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"field {name!r} is an object array; only numeric arrays are cached")
        arrays[name] = value
        return {"__array__": name}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{name}.{i}", arrays) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"field {name!r} is a dict with non-string keys; they would not survive JSON")
        return {"__dict__": {k: _encode(v, f"{name}.{k}", arrays) for k, v in value.items()}}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"field {name!r} holds a {type(value).__name__}, which the cache cannot store "
                    "(arrays, numbers, strings, None and lists/tuples/dicts of them)")


def _decode(value, arrays):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[value["__array__"]]
        if "__tuple__" in value:
            return tuple(_decode(v, arrays) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode(v, arrays) for k, v in value["__dict__"].items()}
        raise ValueError(f"unknown record {sorted(value)}")
    return value


class ResultCache:
    """Save and load result dataclasses under ``directory``.

    >>> cache = ResultCache()
    >>> result = cache.get_or_compute("tunnel", config, compute, ResultType)
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self._remove_stale_temporaries()

    def _paths(self, name: str, config: dict):
        if not isinstance(name, str) or not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"name must be letters, digits, '-' or '_'; got {name!r}")
        stem = self.directory / f"{name}-{config_hash(config)}"
        return stem.with_suffix(".npz"), stem.with_suffix(".json")

    def _remove_stale_temporaries(self) -> None:
        if not self.directory.is_dir():
            return
        now = time.time()
        for path in self.directory.glob("*.tmp*"):
            try:
                if now - path.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                    path.unlink()
            except OSError:
                pass

    def save(self, name: str, config: dict, result) -> None:
        if not dataclasses.is_dataclass(result) or isinstance(result, type):
            raise TypeError(f"result must be a dataclass instance, got {type(result).__name__}")
        arrays: dict = {}
        fields = {f.name: _encode(getattr(result, f.name), f.name, arrays) for f in dataclasses.fields(result)}
        npz_path, json_path = self._paths(name, config)
        self.directory.mkdir(parents=True, exist_ok=True)
        # Write to temporary names, then rename: an interrupted save leaves no half file.
        tmp_npz = npz_path.with_name(npz_path.stem + f".tmp{os.getpid()}.npz")
        tmp_json = json_path.with_name(json_path.stem + f".tmp{os.getpid()}.json")
        try:
            np.savez(tmp_npz, **arrays)
            tmp_json.write_text(json.dumps({"config": _config_value(config, "config"), "fields": fields}, indent=1))
            os.replace(tmp_npz, npz_path)
            os.replace(tmp_json, json_path)
        finally:
            tmp_npz.unlink(missing_ok=True)
            tmp_json.unlink(missing_ok=True)

    def load(self, name: str, config: dict, result_type: type[T]) -> T | None:
        """The cached result, or None if there is none for this configuration.

        A file that cannot be read back as a ``result_type`` for exactly this
        configuration is removed with a warning that names it (the caller recomputes).
        """
        npz_path, json_path = self._paths(name, config)
        if not (npz_path.exists() and json_path.exists()):
            return None
        try:
            stored = json.loads(json_path.read_text())
            if stored.get("config") != _config_value(config, "config"):
                raise ValueError("it was stored for another configuration")
            # Open the file ourselves: np.load leaks its handle when the archive is corrupt.
            with open(npz_path, "rb") as handle, np.load(handle, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
            return result_type(**{k: _decode(v, arrays) for k, v in stored["fields"].items()})
        except Exception as error:  # noqa: BLE001 - any unreadable file is recomputed, never fatal
            warnings.warn(f"ignoring the unreadable cache entry {json_path} / {npz_path.name} "
                          f"({type(error).__name__}: {error}); it is removed and recomputed", stacklevel=2)
            npz_path.unlink(missing_ok=True)
            json_path.unlink(missing_ok=True)
            return None

    def get_or_compute(self, name: str, config: dict, compute: Callable[[], T], result_type: type[T]) -> T:
        """Load the result for ``config`` if cached, else compute it and save it."""
        cached = self.load(name, config, result_type)
        if cached is not None:
            return cached
        result = compute()
        self.save(name, config, result)
        return result
