# lcl-repro — `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Optional local copy of the datasets: `make data` links it as data/ when it exists, else downloads
# the originals (docs/datasets.md#getting-the-files). Point it elsewhere with SHARED_DATA=<folder>.
SHARED_DATA ?= ../shared/data
export HF_HUB_DISABLE_TELEMETRY := 1

.DEFAULT_GOAL := help
.PHONY: help setup data demo test test-fast bench parity clean-outputs tables

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

setup: $(STAMP) ## build .venv (CPU torch pinned by constraints.txt) and stage WordNet for offline use

$(STAMP): pyproject.toml constraints.txt scripts/setup_wordnet.sh scripts/wordnet_lexnames.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,cluster,optuna]'
	bash scripts/setup_wordnet.sh $(VENV)
	touch $(STAMP)

data: ## link the local copy SHARED_DATA as data/ when present, else download the originals (scripts/fetch_data.py)
	@if [ -e data ]; then echo "data/ is present"; \
	elif [ -d $(SHARED_DATA) ]; then ln -s $(SHARED_DATA) data && echo "linked data -> $(SHARED_DATA)"; \
	else $(PY) scripts/fetch_data.py data; fi

# bf16 roughly halves an LCL step where the CPU has native bf16 (docs/performance.md#bf16-on-cpu): the demo spends that on a
# second epoch, which brings it closer to the 5-epoch protocol. Elsewhere it stays one fp32 epoch.
DEMO_RUN = $(shell $(PY) -c 'from lcl_repro.train.hardware import cpu_supports_bf16 as bf16; print("hardware=cpu_bf16 method.epochs=2" if bf16() else "method.epochs=1")')

demo: setup data ## LCL on EmoInt with the offline MiniLM encoder, 2 bf16 epochs (1 fp32 epoch on CPUs without bf16; 6-9 min on 2 cores), beside the committed full result
	$(PY) run.py method=lcl dataset=emoint encoder=minilm $(DEMO_RUN)
	@$(PY) -m lcl_repro.report.committed cell paper=lcl_table1 system=LCL column=EmoInt scale=cpu results=results

test: setup data ## the test suite (offline, CPU; 23 min on 2 cores here)
	$(PY) -m pytest -q --durations=10

test-fast: setup data ## unit-level tests only: no end-to-end runs, nothing marked slow (under 90 s on 2 CPU cores)
	$(PY) -m pytest -q -m "not slow"

bench: setup data ## framework vs bare loop, each method vs CE, bf16 vs fp32, evaluation, data prep: ratios vs goals (lcl_repro/bench; BENCH_ARGS='--quick encoder=tiny')
	$(PY) scripts/bench.py $(BENCH_ARGS)

parity: setup data ## bf16 vs fp32 accuracy: EmoInt, MiniLM, 3 epochs, CE and LCL, seeds 0-2 (about 70 min here), then the table
	$(PY) run.py -m seed=0,1,2 method=ce,lcl hardware=cpu,cpu_bf16 dataset=emoint encoder=minilm method.epochs=3 save_embeddings=false output_root=$(OUTPUT_ROOT)
	$(PY) scripts/parity.py --root $(OUTPUT_ROOT)

# ---- paper tables: train what is missing (Hydra multirun, finished runs skipped), then report.
# SCALE=smoke (minutes, plumbing only) | cpu (paper protocol, MiniLM, CPU-sized datasets) | paper (GPU).
# LOGGER=wandb groups the runs per table and uploads the report; EXTRA='[hardware=gpu]' adds run overrides.
# OUTPUT_ROOT=results reads and writes the committed records (results/runs, results/reports).
# PLAN=1 trains nothing: per cell the runs to do and finished, and the estimated wall time (GPU-hours).
# PROTOCOL=<name> picks one of the table's named protocols (default: its default_protocol; docs/protocols.md#table-protocols).
# JOBS=n trains n runs at once, each at hardware.num_threads = cores / n (docs/performance.md#parallel-sweeps).
SCALE ?= cpu
JOBS ?= 1
PROTOCOL ?=
PLAN ?=
LOGGER ?= none
EXTRA ?= []
OUTPUT_ROOT ?= outputs
REPORT_FLAGS ?=
# One per conf/paper/<name>.yaml, in the order `make tables` runs them (tests/test_repository.py checks).
TABLES := lcl_table1 lcl_table2 lcl_table3 lcl_table45 lcl_figure2 scl_table2 scl_table3 scl_table4 \
          lacon_table2 lacon_table3 lacon_table4 lacon_figure2 lacon_imbalance \
          supclseq_table1 supclseq_table2 supclseq_table3
TABLE_TARGETS := $(subst _,-,$(TABLES))
.PHONY: $(TABLE_TARGETS)  # here, not above: .PHONY's list is expanded where it is read
TABLE_ARGS = paper=$(subst -,_,$@) scale=$(SCALE) logger=$(LOGGER) extra='$(EXTRA)' output_root=$(OUTPUT_ROOT) jobs=$(JOBS) \
             $(if $(PROTOCOL),protocol=$(PROTOCOL))

$(TABLE_TARGETS): setup data
ifeq ($(PLAN),1)
	$(PY) -m lcl_repro.report.sweep $(TABLE_ARGS) plan=true
else
	$(PY) -m lcl_repro.report.sweep $(TABLE_ARGS)
	$(PY) -m lcl_repro.report $(TABLE_ARGS) $(REPORT_FLAGS)
endif

tables: ## every paper table below, in turn (SCALE=smoke|cpu|paper, default cpu; PLAN=1: cost plan only, trains nothing)
	@for t in $(TABLE_TARGETS); do $(MAKE) --no-print-directory $$t SCALE=$(SCALE) LOGGER=$(LOGGER) || exit 1; done

lcl-table1: ## LCL Table 1: ED/GoEmotions/ISEAR/EmoInt x CE/SCL/LCL, acc + weighted F1, Welch t-tests
lcl-table2: ## LCL Table 2: SST-5 / SST-2
lcl-table3: ## LCL Table 3: ED class subsets (32/16/8/4-easy/4-hard a-d), 10 seeds
lcl-table45: ## LCL Tables 4-5 (App. C): validation scores of the Table 1-2 runs
lcl-figure2: ## LCL Figure 2: top-k prediction entropy per method
scl-table2: ## Gunel Table 2: GLUE, CE vs CE+SCL (the seed of 10 with the best validation accuracy)
scl-table3: ## Gunel Table 3: CE+SCL at batch size 16/64/256 (selected as Table 2)
scl-table4: ## Gunel Table 4: few-shot N=20/100/1000, mean of the top 3 of 10 samples by validation
lacon-table2: ## LaCon Table 2: CE, CE+CL, CE+SCL, LaCon-vanilla, LaCon-fusion, Wilcoxon tests
lacon-table3: ## LaCon Table 3: ablations (single head, each term removed, no projection head)
lacon-table4: ## LaCon Table 4: few-shot, 20 per class, 20 epochs
lacon-figure2: ## LaCon Figure 2: 10/20/50/100 examples per class
lacon-imbalance: ## LaCon imbalance study: rho in 1/3/5/10/20, minority/majority F1
supclseq-table1: ## SupCL-Seq Table 1: dropout-view settings on CoLA/RTE
supclseq-table2: ## SupCL-Seq Table 2: GLUE vs CE
supclseq-table3: ## SupCL-Seq Table 3: self-supervised vs supervised contrastive, linear probe

clean-outputs: ## delete outputs/ (run records, caches, reports)
	rm -rf outputs/runs outputs/cache outputs/sweeps outputs/reports
