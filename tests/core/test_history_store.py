"""The run history store: where it lives, schema, save/list/get/compare/delete, bad files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from profiler.bench.stats import latency_stats
from profiler.history.paths import data_dir, history_path
from profiler.history.schema import SCHEMA_VERSION
from profiler.history.store import HistoryError, HistoryStore, UnknownRunError, utc_iso
from profiler.records.model import ModelInfo
from profiler.records.report import Report
from profiler.records.runs import LayerProfile, MemoryStats, Run, RunError, RuntimeLayer

MIB = 1 << 20


@pytest.fixture(autouse=True)
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("EDGEPROF_DATA_DIR", str(folder))
    return folder


def make_run(device: str, samples_ms: list[float] | None, layers: dict[str, float] | None = None,
             variant: str = "fp32") -> Run:
    profile = LayerProfile(layers=[RuntimeLayer(name=name, layer_type="Conv", time_ms=ms)
                                   for name, ms in (layers or {}).items()])
    return Run(device=device, backend=device.split(":")[0], variant=variant, precision="fp32",
               latency=latency_stats(samples_ms) if samples_ms else None,
               throughput_fps=1000.0 / samples_ms[0] if samples_ms else None,
               memory=MemoryStats("linux-vmhwm", 10 * MIB, 30 * MIB, 20 * MIB),
               layer_profile=profile if layers else None, config={"threads": 2})


def make_report(name: str = "resnet.onnx", created: str = "2025-03-01T10:00:00+00:00",
                runs: list[Run] | None = None) -> Report:
    model = ModelInfo(path=f"/models/{name}", name=name, format="onnx", sha256="ab" * 32)
    return Report(created=created, model=model, runs=runs if runs is not None else [
        make_run("ov:CPU", [10.0, 12.0, 14.0], {"conv1": 4.0, "relu": 1.0}),
        make_run("ort:cpu", [6.0, 6.0, 9.0]),
    ])


def test_data_folder_per_platform() -> None:
    home = Path("/home/ada")
    assert data_dir({"EDGEPROF_DATA_DIR": "/x/y"}, "linux", home) == Path("/x/y")
    assert data_dir({}, "linux", home) == home / ".local/share/edgeprof"
    assert data_dir({"XDG_DATA_HOME": "/xdg"}, "linux", home) == Path("/xdg/edgeprof")
    assert data_dir({"XDG_DATA_HOME": "rel"}, "linux", home) == home / ".local/share/edgeprof"
    assert data_dir({}, "darwin", home) == home / "Library/Application Support/edgeprof"
    assert data_dir({"LOCALAPPDATA": "C:/Users/ada/AppData/Local"}, "win32", home) == Path(
        "C:/Users/ada/AppData/Local/edgeprof")


def test_store_uses_the_data_folder(data_folder: Path) -> None:
    assert HistoryStore().path == data_folder / "history.sqlite3" == history_path()


def test_saved_runs_are_listed_newest_first_with_their_figures() -> None:
    store = HistoryStore()
    old_ids = store.save_report(make_report("old.onnx", "2025-01-01T08:00:00+00:00"))
    new_ids = store.save_report(make_report("new.onnx", "2025-02-01T09:30:00+01:00"))
    assert len(old_ids) == 2 and len(new_ids) == 2 and min(new_ids) > max(old_ids)
    entries = store.list_runs()
    assert [e.id for e in entries] == [new_ids[1], new_ids[0], old_ids[1], old_ids[0]]
    cpu = entries[1]
    assert (cpu.model_name, cpu.device, cpu.variant, cpu.backend) == ("new.onnx", "ov:CPU",
                                                                      "fp32", "ov")
    assert cpu.created == "2025-02-01T08:30:00+00:00"  # stored in UTC
    assert cpu.p50_ms == 12.0 and cpu.mean_ms == pytest.approx(12.0)
    assert cpu.throughput_fps == pytest.approx(100.0)
    assert cpu.peak_rss_bytes == 30 * MIB and cpu.error == ""
    assert cpu.model_path == "/models/new.onnx" and cpu.model_sha256 == "ab" * 32


def test_filters_and_limit() -> None:
    store = HistoryStore()
    store.save_report(make_report("ResNet50.onnx"))
    store.save_report(make_report("mobilenet.onnx", "2025-03-02T00:00:00+00:00"))
    assert {e.model_name for e in store.list_runs(model="resnet")} == {"ResNet50.onnx"}
    assert [e.device for e in store.list_runs(device="OV:cpu")] == ["ov:CPU", "ov:CPU"]
    both = store.list_runs(model="NET", device="ort:cpu")
    assert [e.model_name for e in both] == ["mobilenet.onnx", "ResNet50.onnx"]
    assert len(store.list_runs(limit=3)) == 3 and store.list_runs(model="bert") == []


def test_failed_run_keeps_its_error() -> None:
    failed = make_run("ov:NPU", None)
    failed.error = RunError("compile", "unsupported op Foo")
    [run_id] = HistoryStore().save_report(make_report(runs=[failed]))
    entry = HistoryStore().get_entry(run_id)
    assert entry.error == "compile: unsupported op Foo"
    assert entry.p50_ms is None and entry.mean_ms is None and entry.throughput_fps is None


def test_report_is_rebuilt_losslessly() -> None:
    report = make_report()
    ids = HistoryStore().save_report(report)
    stored = HistoryStore().get_run(ids[1])
    assert stored.report.to_dict() == report.to_dict()
    assert stored.run == report.runs[1] and stored.entry.id == ids[1]
    assert stored.run.latency is not None and stored.run.latency.samples_ms == [6.0, 6.0, 9.0]


def test_schema_version_wal_and_tables(data_folder: Path) -> None:
    HistoryStore().save_report(make_report())
    with sqlite3.connect(data_folder / "history.sqlite3") as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
        assert connection.execute("SELECT count(*) FROM reports").fetchone()[0] == 1
    assert {"id", "created", "model_name", "model_path", "model_sha256", "device", "variant",
            "backend", "precision", "p50_ms", "mean_ms", "throughput_fps", "peak_rss_bytes",
            "error", "report_id"} <= columns


def test_reading_never_creates_the_file(data_folder: Path) -> None:
    store = HistoryStore()
    assert store.list_runs() == []
    with pytest.raises(UnknownRunError, match="no run #3 in the history"):
        store.get_run(3)
    assert store.save_report(Report()) == []  # nothing measured, nothing saved
    assert not data_folder.exists()


def test_delete_run_and_then_its_report(data_folder: Path) -> None:
    store = HistoryStore()
    first, second = store.save_report(make_report())
    store.delete_run(first)
    assert [e.id for e in store.list_runs()] == [second]
    assert store.get_run(second).run.device == "ort:cpu"  # the report stays for the other run
    store.delete_run(second)
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("SELECT count(*) FROM reports").fetchone()[0] == 0
    with pytest.raises(UnknownRunError, match=rf"no run #{second} "):
        store.delete_run(second)
    [third, _] = store.save_report(make_report())
    assert third > second  # ids are never reused, so an old id never names another run


def test_compare_two_runs_by_hand() -> None:
    store = HistoryStore()
    [a, _] = store.save_report(make_report())
    [b] = store.save_report(make_report(runs=[
        make_run("ov:CPU", [7.0, 9.0, 11.0], {"conv1": 2.5, "relu": 1.5, "add": 0.5})]))
    comparison = store.compare_runs(a, b)
    [device] = comparison.devices
    assert (device.device, device.a_p50_ms, device.b_p50_ms) == ("ov:CPU", 12.0, 9.0)
    assert device.delta_ms == pytest.approx(-3.0) and device.delta_percent == pytest.approx(-25.0)
    layers = {d.layer: d for d in comparison.layers}
    # "add" ran only in B: no counterpart in A, so no delta for it
    assert [d.layer for d in comparison.layers] == ["conv1", "relu"]
    assert layers["conv1"].delta_ms == pytest.approx(-1.5)
    assert layers["relu"].delta_percent == pytest.approx(50.0)
    assert comparison.a_name.startswith(f"run #{a}: resnet.onnx on ov:CPU")


def test_compare_runs_on_different_devices_pairs_them() -> None:
    store = HistoryStore()
    cpu, ort = store.save_report(make_report())
    [device] = store.compare_runs(cpu, ort).devices
    assert device.device == "ov:CPU -> ort:cpu" and device.delta_ms == pytest.approx(-6.0)
    with pytest.raises(UnknownRunError):
        store.compare_runs(cpu, 999)


def test_garbage_file_is_a_clear_error(data_folder: Path) -> None:
    data_folder.mkdir()
    path = data_folder / "history.sqlite3"
    path.write_bytes(b"this is not a database at all\n" * 200)
    store = HistoryStore()
    for action in (store.list_runs, lambda: store.save_report(make_report())):
        with pytest.raises(HistoryError) as error:
            action()
        message = str(error.value)
        assert str(path) in message and "move the file aside" in message
        assert "\n" not in message


def test_other_sqlite_database_is_refused(data_folder: Path) -> None:
    data_folder.mkdir()
    with sqlite3.connect(data_folder / "history.sqlite3") as connection:
        connection.execute("CREATE TABLE photos (id INTEGER)")
    with pytest.raises(HistoryError, match=r"not an edgeprof history \(tables: photos"):
        HistoryStore().save_report(make_report())


def test_newer_schema_is_refused(data_folder: Path) -> None:
    store = HistoryStore()
    store.save_report(make_report())
    with sqlite3.connect(store.path) as connection:
        connection.execute("PRAGMA user_version = 7")
    with pytest.raises(HistoryError, match=r"newer edgeprof \(schema 7;"):
        store.list_runs()


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HistoryError, match="cannot create the history folder"):
        HistoryStore(blocker / "sub" / "history.sqlite3").save_report(make_report())


def test_store_works_from_a_worker_thread() -> None:
    store = HistoryStore()
    ids = store.save_report(make_report())
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(
        (store.list_runs(), store.get_run(ids[0]).run.device)))
    worker.start()
    worker.join(60)
    [(entries, device)] = results
    assert [e.id for e in entries] == ids[::-1] and device == "ov:CPU"  # type: ignore[attr-defined]


def test_utc_iso() -> None:
    assert utc_iso("2025-01-01T02:00:00+02:00") == "2025-01-01T00:00:00+00:00"
    assert utc_iso("2025-01-01T00:00:00Z") == "2025-01-01T00:00:00+00:00"
    assert utc_iso("2025-01-01T00:00:00") == "2025-01-01T00:00:00+00:00"
    assert utc_iso("yesterday").endswith("+00:00")
