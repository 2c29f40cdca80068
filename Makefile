# RetinaLab: `make run` opens the app, `make test` checks the import contracts, lints, then runs the whole
# suite offscreen, `make wheel-check` installs the built wheel into a fresh venv and runs it there
# (.ci/wheel_check; CI runs both).
# All build .venv from nothing when it is missing or pyproject.toml / setup.py changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test wheel-check clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -e ".[test]"
	touch $(STAMP)

run: install
	$(BIN)/retinalab gui --demo

# lint-imports checks the layering contracts and ruff a small rule set (both in pyproject.toml), then the suite
test: install
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

wheel-check: install
	.ci/wheel_check $(BIN)/python

clean:
	rm -rf $(VENV) build dist *.egg-info
