"""A small on-disk cache of experiment results, keyed by a hash of their configuration.

Results are dataclasses of numpy arrays, numbers and strings. Arrays go to an
``.npz`` file (loaded with ``allow_pickle=False``), everything else to ``.json``:
never pickle, so a cache file cannot run code and stays readable.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

__all__ = ["ResultCache", "config_hash", "default_cache_dir"]

T = TypeVar("T")


def default_cache_dir() -> Path:
    """``$LANDSCAPE_CACHE`` if set, else ``.landscape_cache`` in the working directory."""
    return Path(os.environ.get("LANDSCAPE_CACHE", ".landscape_cache"))


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return {"__array_sha256__": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest(),
                "shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"config values must be numbers, strings, lists, dicts or arrays; got {type(value).__name__}")


def config_hash(config: dict) -> str:
    """A stable hash of a configuration (dict keys sorted; arrays hashed by content)."""
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    text = json.dumps(_jsonable(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class ResultCache:
    """Save and load result dataclasses under ``directory``.

    >>> cache = ResultCache()
    >>> result = cache.get_or_compute("tunnel", config, compute, ResultType)
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def _paths(self, name: str, config: dict):
        if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"name must be letters, digits, '-' or '_'; got {name!r}")
        stem = self.directory / f"{name}-{config_hash(config)}"
        return stem.with_suffix(".npz"), stem.with_suffix(".json")

    def save(self, name: str, config: dict, result) -> None:
        if not dataclasses.is_dataclass(result):
            raise TypeError(f"result must be a dataclass instance, got {type(result).__name__}")
        arrays, scalars = {}, {}
        for field in dataclasses.fields(result):
            value = getattr(result, field.name)
            if isinstance(value, np.ndarray):
                if value.dtype == object:
                    raise TypeError(f"field {field.name!r} is an object array; only numeric arrays are cached")
                arrays[field.name] = value
            else:
                scalars[field.name] = _jsonable(value)
        npz_path, json_path = self._paths(name, config)
        self.directory.mkdir(parents=True, exist_ok=True)
        # Write to temporary names, then rename: an interrupted save leaves no half file.
        tmp_npz = npz_path.with_name(npz_path.stem + ".tmp.npz")
        np.savez(tmp_npz, **arrays)
        tmp_json = json_path.with_suffix(".tmp")
        tmp_json.write_text(json.dumps({"config": _jsonable(config), "fields": scalars}, indent=1))
        os.replace(tmp_npz, npz_path)
        os.replace(tmp_json, json_path)

    def load(self, name: str, config: dict, result_type: type[T]) -> T | None:
        """The cached result, or None if there is none for this configuration."""
        npz_path, json_path = self._paths(name, config)
        if not (npz_path.exists() and json_path.exists()):
            return None
        fields = json.loads(json_path.read_text())["fields"]
        with np.load(npz_path, allow_pickle=False) as arrays:
            fields.update({key: arrays[key] for key in arrays.files})
        return result_type(**fields)

    def get_or_compute(self, name: str, config: dict, compute: Callable[[], T], result_type: type[T]) -> T:
        """Load the result for ``config`` if cached, else compute it and save it."""
        cached = self.load(name, config, result_type)
        if cached is not None:
            return cached
        result = compute()
        self.save(name, config, result)
        return result
