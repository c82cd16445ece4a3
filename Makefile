# w2v-companion: every target builds .venv from requirements.txt first (only when the pins change).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FRAMEWORKS := torch mxnet jax tensorflow
# Under `make test` the notebooks train a small budget of steps; in Jupyter they train the full 5 epochs.
TEST_STEPS ?= 150

.PHONY: venv test test-python test-notebooks run lab notebooks clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

test: test-python test-notebooks

test-python: venv
	$(PY) -m pytest tests

test-notebooks: venv
	W2V_MAX_STEPS=$(TEST_STEPS) $(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks/

run: venv
	for framework in $(FRAMEWORKS); do $(PY) -m backends train --framework $$framework || exit 1; done
	$(PY) -m backends report

notebooks: venv
	$(PY) tools/make_notebooks.py

lab: venv
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf results .pytest_cache
