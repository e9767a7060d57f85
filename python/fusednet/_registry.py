"""Names -> classes for one kind of object a model is configured with (layers, losses,
optimizers, initializers), written once for all of them.

``get`` makes an instance from a name (``"adam"``), a class name (``"Adam"``) or returns an
instance as it is; ``serialize`` / ``deserialize`` convert to and from Keras's
``{"class_name": ..., "config": ...}`` form, which saved models store.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """The classes of one `kind` of object ("loss": used in messages), subclasses of `base`.

    `names` maps the lower-case names ``get`` accepts to classes (besides the class names);
    `expected` is how messages name an instance (``"a fusednet.losses.Loss"``).
    Classes rebuild from ``from_config(config)``, as Keras's do.
    """

    def __init__(self, kind: str, base: type, classes, names: dict, expected: str):
        self.kind = kind
        self.base = base
        self.classes = {c.__name__: c for c in classes}
        self.names = dict(names)
        self.expected = expected

    def get(self, identifier, name_of_arg: str | None = None) -> T:
        """An instance from a name, a class name or an instance (returned as it is); errors
        name the argument `name_of_arg` (default: the kind)."""
        arg = self.kind if name_of_arg is None else name_of_arg
        if isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, str):
            cls = self.names.get(identifier.lower()) or self.classes.get(identifier)
            if cls is None:
                raise ValueError(
                    f"{arg}: unknown {self.kind} '{identifier}'; expected one of "
                    f"{', '.join(repr(k) for k in self.names)} or {self.expected}"
                )
            return cls()
        article = "an" if self.kind[0] in "aeiou" else "a"
        raise TypeError(
            f"{arg}: expected {article} {self.kind} name or {self.expected}, got "
            f"{type(identifier).__name__}"
        )

    def serialize(self, obj) -> dict:
        """``{"class_name": ..., "config": obj.get_config()}``."""
        return {"class_name": type(obj).__name__, "config": obj.get_config()}

    def deserialize(self, d: dict) -> T:
        """The object ``serialize`` described (from a saved model)."""
        if not isinstance(d, dict) or not isinstance(d.get("config"), dict):
            raise ValueError(
                f"a {self.kind} in a saved model: expected an object with 'class_name' and a "
                f"'config' object, got {d!r:.200}"
            )
        cls = self.classes.get(d.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown {self.kind} class {d.get('class_name')!r} in a saved model")
        return cls.from_config(dict(d["config"]))
