# w2v-companion: every target builds .venv from requirements.txt first (only when the pins change).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FRAMEWORKS := torch,mxnet,jax,tensorflow,numpy
# Under `make test` the notebooks train a small budget of steps; in Jupyter they train the full 5 epochs.
TEST_STEPS ?= 150

.PHONY: venv test test-python test-notebooks run docs bench parity lab notebooks clean

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

# Every framework from one seed with the chapter's settings: results/summary.md, loss_curves.png, divergence.png
run: venv
	$(PY) -m backends compare --frameworks $(FRAMEWORKS) --epochs 5 --out results

# The README's comparison figures and table: a full `make run`, then its figures and summary copied to docs/.
docs: run
	mkdir -p docs
	cp results/loss_curves.png results/divergence.png results/summary.md docs/

# Speed against the book's own code and gensim, in one run on this machine: results/bench.json
bench: venv
	$(PY) -m backends bench --frameworks $(FRAMEWORKS) --steps 1000 --repeats 3 --corpus-tokens 10000000

parity: venv
	$(PY) -m backends parity --frameworks $(FRAMEWORKS) --steps 100

notebooks: venv
	$(PY) tools/make_notebooks.py

# Jupyter refuses to run as root unless told; containers often run as root.
lab: venv
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

clean:
	rm -rf results .pytest_cache
