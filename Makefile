# scalelab: `make lab` opens the course, `make test` runs every test. Both create .venv first.
#   make lab                 set up .venv and open lessons/00-start-here.ipynb in JupyterLab
#   make test                set up .venv (with test extras) and run the whole test suite, then
#                            nbgrader's own checks of the builds (make test-nbgrader, in .venv-nbgrader)
#   make test ARGS='-m "not browser and not slow"'    pass arguments to pytest
#   make benchmark           run benchmarks/run.py
#   make clean               remove .venv and build litter
# PYTHON=python3.12 make lab  picks the interpreter that creates .venv (Python 3.10+).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=
# JupyterLab refuses to start as root without --allow-root; add it only then.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test test-nbgrader benchmark venv venv-test clean

lab: $(VENV)/.stamp-lab
	$(BIN)/jupyter lab $(ALLOW_ROOT) lessons/00-start-here.ipynb

test: $(VENV)/.stamp-test
	$(BIN)/python -m pytest $(ARGS)
	$(MAKE) --no-print-directory test-nbgrader

# nbgrader brings JupyterLab extensions of its own: a separate venv keeps them out of the
# course's JupyterLab (and of the browser tests)
test-nbgrader: .venv-nbgrader/.stamp
	SCALELAB_REQUIRE_NBGRADER=1 PATH="$(CURDIR)/.venv-nbgrader/bin:$$PATH" \
	  .venv-nbgrader/bin/python -m pytest tests/test_course.py -k nbgrader

.venv-nbgrader/.stamp: requirements.txt pyproject.toml | $(BIN)/python
	$(PYTHON) -m venv .venv-nbgrader
	.venv-nbgrader/bin/python -m pip install -r requirements.txt -e '.[test,nbgrader]'
	@touch $@

benchmark: $(VENV)/.stamp-test
	$(BIN)/python benchmarks/run.py

venv: $(VENV)/.stamp-lab
venv-test: $(VENV)/.stamp-test

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { \
	  echo "scalelab needs Python 3.10 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." \
	       "Try: make $(MAKECMDGOALS) PYTHON=python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The stamps make re-runs skip pip until requirements.txt or pyproject.toml change.
# JupyterLab's news pop-up stays off, as on Binder (binder/postBuild installs the same file)
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

$(VENV)/.stamp-lab: requirements.txt pyproject.toml binder/jupyterlab-overrides.json | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	mkdir -p $(dir $(LAB_SETTINGS)) && cp binder/jupyterlab-overrides.json $(LAB_SETTINGS)
	@touch $@

$(VENV)/.stamp-test: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt -e '.[test]'
	@touch $@

clean:
	rm -rf $(VENV) .venv-nbgrader build dist *.egg-info
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
