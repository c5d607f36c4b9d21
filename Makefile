# lcl-repro — `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SHARED_DATA ?= ../shared/data
export HF_HUB_DISABLE_TELEMETRY := 1

.DEFAULT_GOAL := help
.PHONY: help setup data demo test test-fast bench clean-outputs

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

setup: $(STAMP) ## build .venv (CPU torch pinned by constraints.txt) and stage WordNet for offline use

$(STAMP): pyproject.toml constraints.txt scripts/setup_wordnet.sh scripts/wordnet_lexnames.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,cluster]'
	bash scripts/setup_wordnet.sh $(VENV)
	touch $(STAMP)

data: ## link ../shared/data as data/ when present, else download the originals (scripts/fetch_data.py)
	@if [ -e data ]; then echo "data/ is present"; \
	elif [ -d $(SHARED_DATA) ]; then ln -s $(SHARED_DATA) data && echo "linked data -> $(SHARED_DATA)"; \
	else $(PY) scripts/fetch_data.py data; fi

demo: setup data ## LCL on EmoInt with the offline MiniLM encoder, one epoch (about 9 min on 2 CPU cores)
	$(PY) run.py method=lcl dataset=emoint encoder=minilm method.epochs=1

test: setup data ## the test suite (offline, CPU, under 10 minutes)
	$(PY) -m pytest -q --durations=10

test-fast: setup data ## the suite without the real-MiniLM end-to-end runs
	$(PY) -m pytest -q -m "not slow"

bench: setup data ## per-step time of every method vs CE, and evaluation throughput (scripts/bench_step.py)
	$(PY) scripts/bench_step.py

clean-outputs: ## delete outputs/ (run records, caches, reports)
	rm -rf outputs/runs outputs/cache outputs/sweeps outputs/reports
