# The course's commands. Each one creates .venv and installs requirements.txt when needed.
#   make lab      start the mock server, then JupyterLab (the server stops when JupyterLab exits)
#   make test     check the mock server, every notebook and every lab
#   make check    grade your labs (one lab: make check LAB=01)
#   make labs     rebuild labs/ from solutions/ (keeps labs you changed)
#   make server   run the mock server in the foreground
#   make bench    measure the mock server
#   make clean    remove .venv, caches and logs
# Use another port with PORT=8766, another Python with PYTHON=python3.12, pass options to
# JupyterLab with LAB_ARGS="--no-browser"; compare the
# mock server with httpbin: make bench BENCH_ARGS="--httpbin-python /path/to/venv/bin/python".

PYTHON ?= python3
PORT ?= 8765
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
export MOCK_SERVER_PORT := $(PORT)

.PHONY: lab test check labs server bench clean

$(INSTALLED): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(None if sys.version_info >= (3, 11) else "The course needs Python 3.11 or newer; $(PYTHON) is " + sys.version.split()[0] + ". Run make with PYTHON=python3.12 (or another 3.11+).")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

lab: $(INSTALLED)
	$(PY) -m course.server run -- $(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(LAB_ARGS) notebooks/00_welcome.ipynb

test: $(INSTALLED)
	$(PY) -m pytest

check: $(INSTALLED)
	$(PY) -m course.labs grade $(LAB)

labs: $(INSTALLED)
	$(PY) -m course.labs build

server: $(INSTALLED)
	$(PY) -m mock_server --port $(PORT)

bench: $(INSTALLED)
	$(PY) -m mock_server.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache *.egg-info .mock_server*.log
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
