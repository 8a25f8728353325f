# The course's commands. Each one creates .venv and installs requirements.txt when needed.
#   make lab      your copies of the lessons and labs in work/, the mock server, then JupyterLab
#                 (the server stops when JupyterLab exits)
#   make check    grade your labs (one lab: make check LAB=01)
#   make work     bring your copies in work/ up to date (fresh copies of lesson and lab 01: FRESH=01)
#   make test     check the mock server, every notebook and every lab (pytest options: TEST_ARGS="-n 4")
#   make server   run the mock server in the foreground
#   make classroom  run one mock server for a whole class on every address (instructors; options: SERVER_ARGS=)
#   make labs     rebuild labs/ from solutions/ (maintainers; FORCE=1 replaces changed labs too)
#   make bench    measure the mock server, with a 60-learner classroom burst (skip it: --no-classroom)
#                 and its worst case for memory (skip it: --no-memory)
#   make clean    remove .venv, caches and logs (never your work/)
# Keep your copies elsewhere with WORK=/path. Use another port with PORT=8766 (HTTPS: PORT + 1000, or TLS_PORT=9766), another Python with PYTHON=python3.12, pass options to
# JupyterLab with LAB_ARGS="--no-browser"; compare the
# mock server with httpbin and go-httpbin in one run:
# make bench BENCH_ARGS="--httpbin-python /path/to/venv/bin/python --go-httpbin /path/to/go-httpbin".

PYTHON ?= python3
PORT ?= 8765
WORK ?= $(CURDIR)/work
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
export MOCK_SERVER_PORT := $(PORT)
# The HTTPS (and HTTP/2) port: PORT + 1000 unless TLS_PORT says otherwise.
ifdef TLS_PORT
export MOCK_SERVER_TLS_PORT := $(TLS_PORT)
endif
export COURSE_WORK := $(WORK)

.PHONY: lab check work test server classroom labs bench clean

# The kernels of .venv read course/jupyter/ipython_kernel_config.py (it makes exception groups,
# such as a failed asyncio.TaskGroup, show as errors; see course/exception_groups.py).
$(INSTALLED): requirements.txt pyproject.toml course/jupyter/ipython_kernel_config.py
	@$(PYTHON) -c 'import sys; sys.exit(None if sys.version_info >= (3, 11) else "The course needs Python 3.11 or newer; $(PYTHON) is " + sys.version.split()[0] + ". Run make with PYTHON=python3.12 (or another 3.11+).")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@mkdir -p $(VENV)/etc/ipython && cp course/jupyter/ipython_kernel_config.py $(VENV)/etc/ipython/
	@touch $@

# JupyterLab shows only work/ and opens lesson 00. Its kernels talk over local sockets (ipc), not
# unencrypted TCP; course/jupyter/ turns off its news pop-up (your own settings still win).
lab: $(INSTALLED)
	@$(PY) -m course.workspace
	JUPYTER_CONFIG_PATH="$(CURDIR)/course/jupyter" $(PY) -m course.server run -- $(VENV)/bin/jupyter lab \
		--ServerApp.root_dir="$(WORK)" --LabApp.default_url=/lab/tree/notebooks/00_welcome.ipynb \
		--KernelManager.transport=ipc $(LAB_ARGS)

# Exit status 1 means "some exercises do not pass yet", which the report already says; make
# fails only when a lab could not be graded at all.
check: $(INSTALLED)
	@$(PY) -m course.labs grade $(LAB) || [ $$? -eq 1 ]

work: $(INSTALLED)
	@$(PY) -m course.workspace $(if $(FRESH),--fresh $(FRESH))

test: $(INSTALLED)
	$(PY) -m pytest $(TEST_ARGS)

server: $(INSTALLED)
	$(PY) -m mock_server --port $(PORT)

classroom: $(INSTALLED)
	$(PY) -m mock_server --classroom --host 0.0.0.0 --port $(PORT) $(SERVER_ARGS)

labs: $(INSTALLED)
	$(PY) -m course.labs build $(if $(FORCE),--force)

bench: $(INSTALLED)
	$(PY) -m mock_server.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache *.egg-info .mock_server*.log
	find . -path ./work -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
