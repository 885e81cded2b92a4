# Two commands: `make run` (set up, load the demo city, serve on http://127.0.0.1:8000)
# and `make test` (set up, then the test suite). Both are safe to re-run.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
RTCC := $(VENV)/bin/rtcc
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PKGS := postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting gdal-bin chromium fonts-dejavu-core
PYTEST_ARGS ?=
SIMULATE ?= 1   # make run SIMULATE=0: serve without the demo simulation

.PHONY: run test setup system venv web db demo bench clean

run: setup demo
	$(RTCC) serve $(if $(filter 0,$(strip $(SIMULATE))),--no-simulate,--simulate)

test: setup
	$(RTCC) db up
	$(PY) -m pytest $(PYTEST_ARGS)

setup: system venv web

# Debian packages: PostgreSQL 15 + PostGIS + pgRouting, GDAL (OGC client in tests), Chromium, Node.
system:
	@missing=$$(for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done; \
	  command -v npm >/dev/null 2>&1 || echo nodejs npm); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

web: web/node_modules/.installed .local/glyphs/.built

web/node_modules/.installed: web/package.json $(wildcard web/package-lock.json)
	cd web && (test -f package-lock.json && npm ci --no-audit --no-fund || npm install --no-audit --no-fund)
	touch $@

# Map label glyphs from Debian's DejaVu fonts (fontnik's build-glyphs, from npm): served at /glyphs.
FONTS := /usr/share/fonts/truetype/dejavu
.local/glyphs/.built: web/node_modules/.installed
	for f in DejaVuSans DejaVuSans-Bold; do \
	  name="$$(echo $$f | sed 's/DejaVuSans/DejaVu Sans/; s/-Bold/ Bold/')"; \
	  mkdir -p ".local/glyphs/$$name" && web/node_modules/.bin/build-glyphs "$(FONTS)/$$f.ttf" ".local/glyphs/$$name" >/dev/null; \
	done
	touch $@

db:
	$(RTCC) db up

demo: db
	$(RTCC) load-demo

bench: setup db
	$(PY) bench/ingest.py

clean:
	-$(RTCC) db down
	rm -rf .local $(VENV) web/node_modules
