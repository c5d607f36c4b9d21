"""A registry per extension point: every module of one package registers its entries when imported,
and the registry imports the whole package the first time it is asked, so adding a method or a
dataset format means adding a module (nothing else lists it).

The two registries: `lcl_repro.methods.METHODS` (method name -> objective, schema, properties) and
`lcl_repro.data.formats.FORMATS` (`dataset.reader` -> reader, schema, the files it opens).
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Generic, Iterator, TypeVar

from lcl_repro.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str, key: str):
        self.kind, self.package, self.key = kind, package, key  # key: the config key that names an entry
        self._entries: dict[str, T] = {}
        self._loaded = False

    def add(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True  # before the imports: a module may look an entry up while it loads
        try:
            package = importlib.import_module(self.package)
            for module in pkgutil.iter_modules(package.__path__):
                importlib.import_module(f"{self.package}.{module.name}")
        except BaseException:
            self._loaded = False
            raise

    def __getitem__(self, name: str) -> T:
        self._load()
        if name not in self._entries:
            raise ConfigError(f"{self.key}={name!r} is invalid: allowed values: {', '.join(self._entries)}")
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(dict(self._entries))

    def items(self) -> list[tuple[str, T]]:
        self._load()
        return list(self._entries.items())
