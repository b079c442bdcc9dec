# Edge Model Profiler: `make run` launches the app on the bundled sample, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SAMPLE := resources/sample/mobilenetv2.onnx

.PHONY: run test lint bench clean-venv

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

$(SAMPLE): resources/build_sample.py $(STAMP)
	$(PY) resources/build_sample.py $(SAMPLE)

run: $(STAMP) $(SAMPLE)
	@bash scripts/qt-system-deps.sh
	$(VENV)/bin/edgeprof $(SAMPLE)

test: $(STAMP) $(SAMPLE)
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
		echo "chromium could not be installed: the headless-browser report test will be skipped"
	@test -x /usr/sbin/sshd || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null; } || \
		echo "openssh-server could not be installed: the loopback-sshd target tests will be skipped"
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check profiler ui tests benchmarks resources scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) benchmarks/analyze_speed.py

clean-venv:
	rm -rf $(VENV)
