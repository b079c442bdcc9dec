"""``record`` (profiler/records/record.py) behaves as ``dataclass`` does where it shares
methods instead of generating them: equality, representation, hashing, frozen guards,
pickling, and the dataclasses helpers."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import field

import pytest

from profiler.records.analysis import LayerCost
from profiler.records.record import record


@record
class Mutable:
    name: str
    sizes: list[float] = field(default_factory=list)
    note: str = field(default="", compare=False, repr=False)


@record(frozen=True)
class Frozen:
    name: str
    count: int = 0


@dataclasses.dataclass
class MutablePeer:
    name: str
    sizes: list[float] = field(default_factory=list)
    note: str = field(default="", compare=False, repr=False)


def test_equality_and_representation_match_a_dataclass() -> None:
    a, b = Mutable("x", [1, 2], note="one"), Mutable("x", [1, 2], note="two")
    assert a == b  # note is not compared
    assert a != Mutable("x", [1])
    assert a != MutablePeer("x", [1, 2])  # another class is never equal
    assert repr(a) == "Mutable(name='x', sizes=[1, 2])"
    assert repr(a).replace("Mutable", "MutablePeer") == repr(MutablePeer("x", [1, 2]))
    nan = float("nan")
    assert Mutable("x", [nan]) == Mutable("x", [nan])  # the same object: equal, as in tuples


def test_a_mutable_record_is_unhashable_and_a_frozen_one_hashes_its_fields() -> None:
    with pytest.raises(TypeError):
        hash(Mutable("x"))
    assert hash(Frozen("x", 1)) == hash(Frozen("x", 1))
    assert {Frozen("x", 1): "found"}[Frozen("x", 1)] == "found"
    with pytest.raises(dataclasses.FrozenInstanceError):
        Frozen("x").count = 2  # type: ignore[misc]


def test_records_pickle_and_work_with_the_dataclasses_helpers() -> None:
    layer = LayerCost(name="conv", op_type="Conv", domain="", inputs=["x"], outputs=["y"])
    assert pickle.loads(pickle.dumps(layer)) == layer
    assert dataclasses.is_dataclass(layer)
    assert dataclasses.replace(layer, macs=5).macs == 5
    assert dataclasses.asdict(Mutable("x", [1]))["sizes"] == [1]
