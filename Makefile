# The two commands: `make run` (the whole embedded stack with a sample item) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

# `make run EXECUTOR=celery WORKERS=2`: the scale-out path (Redis, Celery workers per queue, two triggerers).
EXECUTOR ?= local
WORKERS ?= 2
TRIGGERERS ?= $(if $(filter celery,$(EXECUTOR)),2,1)

.PHONY: install postgres chromium redis ffmpeg run stop status test test-fast bench clean

install: postgres chromium redis ffmpeg $(VENV)/.installed

# The embedded stack keeps Airflow's database in PostgreSQL: Debian's package when we may install it (root).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && echo "installing PostgreSQL (apt-get)..." && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  postgresql >/dev/null; } || \
	{ echo "PostgreSQL's server programs are needed (initdb, postgres): install PostgreSQL 13 or newer" \
	  "(Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql) and run make again" >&2; exit 1; }

# The browser tests (tests/e2e/test_browser.py) drive Debian's headless Chromium through its chromedriver.
chromium:
	@{ command -v chromium >/dev/null && command -v chromedriver >/dev/null; } || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && echo "installing Chromium (apt-get)..." && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  chromium chromium-driver >/dev/null; } || \
	{ echo "Chromium and its chromedriver are needed by the browser tests: install them" \
	  "(Debian/Ubuntu: sudo apt-get install chromium chromium-driver) and run make again" >&2; exit 1; }

# The Celery executor's broker (and the tests that run it) need Debian's redis-server: installed like PostgreSQL.
redis:
	@command -v redis-server >/dev/null || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && echo "installing Redis (apt-get)..." && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  redis-server >/dev/null; } || \
	{ [ "$(EXECUTOR)" != celery ] && echo "note: redis-server is missing; only EXECUTOR=celery and its tests" \
	  "need it (Debian/Ubuntu: sudo apt-get install redis-server)" >&2; } || \
	{ echo "redis-server is needed for EXECUTOR=celery: install Redis 6 or newer" \
	  "(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) and run make again" >&2; exit 1; }

# The video benchmark (bench/video.py) compares our transcoding with the ffmpeg command line: Debian's ffmpeg.
ffmpeg:
	@command -v ffmpeg >/dev/null || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && echo "installing ffmpeg (apt-get)..." && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  ffmpeg >/dev/null; } || \
	echo "note: ffmpeg is missing; only the video benchmark (bench/video.py) compares with it" >&2

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==26.3
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

run: install  ## start S3 server, sandbox and Airflow, load the sample item, print where to look
	$(PY) -m humas_dev.stack run --executor $(EXECUTOR) --workers $(WORKERS) --triggerers $(TRIGGERERS)

stop:  ## stop everything `make run` started (nothing lingers)
	$(PY) -m humas_dev.stack down

status:  ## memory of each running component
	$(PY) -m humas_dev.stack status

test: install  ## unit, integration and end-to-end tests (the e2e tests start their own stack)
	$(PY) -m pytest

test-fast: install  ## everything but the end-to-end tests
	$(PY) -m pytest -m "not e2e"

bench: install  ## design-asset checks vs the naive Pillow path
	$(PY) -m bench.assets_bench

clean:  ## stop, then remove the stack's data: bucket snapshot, Airflow's database, the sandbox's posts
	$(PY) -m humas_dev.stack clean
