# w2v-companion. Two pinned environments; every target builds the chosen one first (again only when its pins change):
#   book     requirements.txt          Python 3.11 on Linux x86-64: all four frameworks, d2l, NumPy 1.23.5 (the reference)
#   current  requirements-current.txt  Python 3.11-3.13: today's releases with NumPy 2; no MXNet, no d2l (neither runs there)
# `make` picks book where it can be installed and current elsewhere, and says which and why; PROFILE=book|current overrides.

PYTHON311 := $(shell python3.11 -c 'import sys; print(sys.executable)' 2>/dev/null)
PLATFORM := $(shell uname -sm)
comma := ,
ifndef PROFILE
  ifeq ($(if $(PYTHON311),$(PLATFORM)),Linux x86_64)
    PROFILE := book
    WHY := python3.11 on Linux x86-64 is here
  else
    PROFILE := current
    WHY := $(if $(PYTHON311),this is $(PLATFORM)$(comma) not Linux x86-64,there is no python3.11)
  endif
else
  WHY := PROFILE=$(PROFILE) was given
endif

ifeq ($(PROFILE),book)
  REQUIREMENTS := requirements.txt
  PYTHON ?= $(PYTHON311)
  HAS := PyTorch, MXNet, JAX, TensorFlow and NumPy
else ifeq ($(PROFILE),current)
  REQUIREMENTS := requirements-current.txt
  # The newest Python from 3.13 down to 3.11 that runs here.
  PYTHON ?= $(firstword $(foreach v,3.13 3.12 3.11,$(shell python$(v) -c 'import sys; print(sys.executable)' 2>/dev/null)) \
                        $(shell python3 -c 'import sys; print(sys.executable if (3, 11) <= sys.version_info[:2] <= (3, 13) else "")'))
  HAS := PyTorch, JAX, TensorFlow and NumPy; MXNet needs the book environment (Python 3.11 on Linux x86-64)
else
  $(error PROFILE must be book or current, not '$(PROFILE)')
endif
VENV := .venv-$(PROFILE)
PINS := $(REQUIREMENTS)
# GPU=1: the GPU builds (Linux x86-64, not yet run on a GPU), in a venv of their own.
ifdef GPU
  REQUIREMENTS := $(REQUIREMENTS:.txt=-gpu.txt)
  VENV := $(VENV)-gpu
  HAS := $(HAS); GPU builds from $(REQUIREMENTS)
endif
ifeq ($(filter gpu-verify test-minimal,$(MAKECMDGOALS)),)  # which build no pinned environment
  $(info make: the $(PROFILE) environment ($(VENV), $(REQUIREMENTS)), as $(WHY): $(HAS).)
endif

PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
KERNEL := w2v-companion
# Under `make test` the notebooks train a small budget of steps; in Jupyter they train the full 5 epochs.
TEST_STEPS ?= 150

.PHONY: venv test test-python test-notebooks test-minimal lint run docs bench bench-scaling bench-memory parity cross-env lab notebooks site gpu-check \
        gpu-verify \
        check-install wheel wheel-check lock clean

venv: $(STAMP)

$(STAMP): $(REQUIREMENTS) $(PINS) pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no Python for the $(PROFILE) environment (book: python3.11; current: 3.11 to 3.13)"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(REQUIREMENTS)
	$(if $(and $(GPU),$(filter book,$(PROFILE))),$(PY) -m pip uninstall --quiet --yes mxnet && \
	  $(PY) -m pip install --quiet --disable-pip-version-check --no-deps mxnet-cu112==1.9.1)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m pip check
	echo $(PROFILE) > $(VENV)/w2v-environment
	touch $(STAMP)

test: test-python test-notebooks

# Lint and format check (ruff) of every Python file, and types (mypy) of the package, the backends' Protocol
# included; settings in pyproject.toml. The book lock pins both, so this runs in the book environment.
lint:
	$(MAKE) --no-print-directory PROFILE=book venv
	.venv-book/bin/python -m ruff check .
	.venv-book/bin/python -m ruff format --check .
	.venv-book/bin/python -m mypy

test-python: venv
	$(PY) -m pytest tests

test-notebooks: venv
	W2V_MAX_STEPS=$(TEST_STEPS) $(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks/

# The smallest install the package promises (NumPy, SciPy, Matplotlib, adjustText, tqdm, filelock: no framework, no
# gensim) on the newest Python 3.11-3.13 that runs here, whatever `make` picked above: every test passes or is
# skipped naming what is missing (the venv records no environment, so nothing must be carried). Then JAX added, in
# a venv of its own: the tests of JAX and the parity of JAX and NumPy, one framework on that Python. Versions are
# the current lock's, as constraints (what these extras need, exactly as pinned there).

# $(call runnable_python,3.13): a Python 3.13 that really runs, or nothing: the PATH's python3.13 (a pyenv shim
# refuses where pyenv has not selected that version), else the newest 3.13.x pyenv holds.
runnable_python = $(or $(shell python$(1) -c 'import sys; print(sys.executable)' 2>/dev/null),$(shell \
  version=$$(pyenv versions --bare 2>/dev/null | grep -x '$(subst .,\.,$(1))\.[0-9]*' | sort -V | tail -n 1); \
  test -n "$$version" && "$$(pyenv prefix $$version)/bin/python$(1)" -c 'import sys; print(sys.executable)' 2>/dev/null))
MINIMAL_PYTHON ?= $(firstword $(foreach v,3.13 3.12 3.11,$(call runnable_python,$(v))))

test-minimal: .venv-minimal/.installed .venv-minimal-jax/.installed
	.venv-minimal/bin/python -m pytest -p no:cacheprovider tests
	.venv-minimal-jax/bin/python -m pytest -p no:cacheprovider tests -k "jax or parity"

.venv-minimal/.installed: EXTRAS := test
.venv-minimal-jax/.installed: EXTRAS := test,jax
.venv-minimal/.installed .venv-minimal-jax/.installed: requirements-current.txt pyproject.toml
	@test -n "$(MINIMAL_PYTHON)" || { echo "make: no Python 3.11 to 3.13 runs here (see the README)"; exit 2; }
	rm -rf $(@D) && $(MINIMAL_PYTHON) -m venv $(@D)
	$(@D)/bin/python -m pip install --quiet --disable-pip-version-check -c requirements-current.txt -e ".[$(EXTRAS)]"
	$(@D)/bin/python -m pip check
	touch $@

# Every installed framework from one seed with the chapter's settings: results/summary.md, loss_curves.png, divergence.png
run: venv
	$(PY) -m backends compare --epochs 5 --out results

# The README's comparison figures and table: a full `make run`, then its figures and summary copied to docs/.
docs: run
	mkdir -p docs
	cp results/loss_curves.png results/divergence.png results/summary.md docs/

# Speed against the book's own code and gensim, in one run on this machine: results/bench.json (tools/bench.py, a
# maintainers' tool: the wheel carries what readers run)
bench: venv
	$(PY) tools/bench.py --steps 1000 --repeats 3 --corpus-tokens 10000000

# Every installed framework's first 100 steps against each other; SETTINGS adds settings to the chapter's
# (SETTINGS="--optimizer lazy_adam", SETTINGS="--model cbow").
# Time per step against the vocabulary, Adam against lazy Adam: results/scaling.json and scaling.png (tools/scaling.py)
bench-scaling: venv
	$(PY) tools/scaling.py

# Peak memory reading and training Zipf corpora of 1, 10 and 100 million tokens with sampling at update time and
# lazy Adam (tools/memory.py); the corpora (about 600 MB) are written to results/corpora/ first
bench-memory: venv
	mkdir -p results/corpora
	for tokens in 1000000 10000000 100000000; do \
	  test -s results/corpora/zipf-$$tokens.txt || $(PY) tools/memory.py zipf results/corpora/zipf-$$tokens.txt --tokens $$tokens; \
	done
	$(PY) tools/memory.py measure results/corpora/zipf-1000000.txt results/corpora/zipf-10000000.txt \
	  results/corpora/zipf-100000000.txt --frameworks numpy,torch

parity: venv
	$(PY) -m backends parity --steps 100 $(SETTINGS)

# The same seed in both environments, one epoch each: how far each framework's losses move between releases.
CROSS_STEPS ?= 670
cross-env:
	$(MAKE) --no-print-directory PROFILE=book venv
	$(MAKE) --no-print-directory PROFILE=current venv
	.venv-book$(if $(GPU),-gpu)/bin/python -m backends compare --max-steps $(CROSS_STEPS) --no-progress \
	  --out results/cross-env/book
	.venv-current$(if $(GPU),-gpu)/bin/python -m backends compare --max-steps $(CROSS_STEPS) --no-progress --out results/cross-env/current
	$(PY) -m backends diff results/cross-env/book results/cross-env/current

# Write the notebooks from notebooks/source/*.md, keeping outputs; run in full (book environment) those whose code
# changed, or every one with ALL=1 (after a change to backends/ that changes what they show), or those named in RUN
# (RUN="torch/word2vec-pretraining.ipynb compare-frameworks.ipynb": after a change to backend code they show).
# The student notebooks (notebooks/student/<framework>/, blanks to fill in, no outputs) are written with them.
notebooks: venv
	$(PY) tools/make_notebooks.py --execute $(if $(ALL),--all) $(if $(RUN),--run $(RUN))

# The companion site, built offline with Sphinx from the committed notebooks and docs/ (nothing trains):
# site/_build/html; open it with `python -m http.server -d site/_build/html`. Its packages are in the book lock.
site: venv
	$(PY) tools/make_site.py

# Jupyter Lab on notebooks/, opening the PyTorch chapter. It first registers this environment as the kernel
# "w2v-companion" for your user, so that a Jupyter started elsewhere on this machine can run the notebooks in it too.
# Jupyter refuses to run as root unless told; containers often run as root.
lab: venv
	$(PY) -m ipykernel install --user --name $(KERNEL) --display-name "Python 3 ($(KERNEL), $(PROFILE) environment)"
	cd notebooks && ../$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) --ServerApp.root_dir=. \
	  --LabApp.default_url=/lab/tree/torch/word2vec-pretraining.ipynb

# The GPU path proved in one command (tools/gpu_verify.py): each framework that sees a GPU trained there and on the CPU
# from one seed, losses compared, speeds timed, a chapter notebook run; results/gpu-verify/verify.{json,md}.
# It builds no environment: it runs under the given Python (PYTHON=python3 on a lent GPU machine), else this
# environment's if built, else python3. DEVICE=cpu runs the same steps with the CPU standing in (as the tests do).
DEVICE ?= gpu
GIVEN_PYTHON := $(if $(filter command line environment,$(origin PYTHON)),$(PYTHON))
VERIFY_PY := $(if $(filter command line,$(origin PY)),$(PY),$(or $(GIVEN_PYTHON),$(wildcard $(PY)),python3))
gpu-verify:
	$(VERIFY_PY) tools/gpu_verify.py --device $(DEVICE) $(VERIFY_OPTIONS)

# GPU builds of this environment's frameworks (Linux x86-64), resolved against PyPI but not installed; see the README.
gpu-check:
	$(PYTHON) tools/gpu_check.py $(PROFILE)

# The package as one file to hand out with the notebooks, the data inside: dist/w2v_companion-<version>-py3-none-any.whl
wheel: venv
	$(PY) tools/make_wheel.py

# The wheel, installed with the command a notebook beside it prints, into a fresh venv that already holds NumPy 2 and
# torch, must change neither; then that notebook runs from its folder (tools/check_install.py).
check-install:
	$(PYTHON) tools/check_install.py

# Whether every pin of each environment has a wheel for Python 3.11-3.13 on Linux, macOS and Windows (the README's
# support table), resolved by uv against PyPI without installing anything.
wheel-check: .venv-lock/bin/uv
	.venv-lock/bin/python tools/wheel_check.py

# `make lock PROFILE=current`: requirements-current.txt recompiled from requirements-current.in with today's releases (uv);
# `make lock PROFILE=book`: requirements.in installed into a throwaway Python 3.11 venv, all it holds written to
# requirements.txt (the old pins are Linux x86-64 only, so the lock is taken from a real install).
lock: $(if $(filter current,$(PROFILE)),.venv-lock/bin/uv)
	$(if $(filter current,$(PROFILE)),.venv-lock/bin/python,$(PYTHON)) tools/lock.py $(PROFILE)

.venv-lock/bin/uv:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

clean:
	rm -rf results notebooks/results site/_build dist .hypothesis .pytest_cache
