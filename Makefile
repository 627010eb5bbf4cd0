# kop-conformance: `make conformance` (the PR-gate slice against real Pulsar), `make test` and `make bench`.
SHELL := /bin/bash

# testcontainers must use loopback and cannot pull its reaper image: set for everyone.
export TESTCONTAINERS_HOST_OVERRIDE := 127.0.0.1
export TESTCONTAINERS_RYUK_DISABLED := true

TARGET ?= reference
LEVELS ?= 1.0 2.0 2.6
PROCS ?= 3
BOOTSTRAP ?=
LABELS ?=
PULSAR_IMAGE ?=
SPECS ?=
MUTANTS ?=
MUTANT_LEVELS ?= 2.0
FUZZTIME ?= 30s
BENCH ?= full
LOAD ?= full

.PHONY: help conformance matrix mutants bench load test fuzz images reference clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

conformance: ## provision Docker, images, Pulsar + reference; run the PR-gate slice; write reports/
	@TARGET="$(TARGET)" LEVELS="$(LEVELS)" PROCS="$(PROCS)" BOOTSTRAP="$(BOOTSTRAP)" LABELS="$(LABELS)" \
		SPECS="$(SPECS)" PULSAR_IMAGE="$(PULSAR_IMAGE)" fixtures/scripts/conformance.sh

matrix: ## the full matrix: every level 1.0-2.6
	@$(MAKE) --no-print-directory conformance LEVELS=all

mutants: ## the suite's mutation check: every reference fault must turn a spec red; writes reports/mutants.md
	@MUTANTS="$(MUTANTS)" MUTANT_LEVELS="$(MUTANT_LEVELS)" PROCS="$(PROCS)" fixtures/scripts/mutants.sh

bench: ## gateway vs pulsar-client-go vs Kafka in alternating rounds (BENCH=quick: smoke run); writes reports/bench.md
	@BENCH="$(BENCH)" PULSAR_IMAGE="$(PULSAR_IMAGE)" fixtures/scripts/bench.sh

load: ## load suite, reference beside Kafka (nightly): 2,000 clients, 1,000 groups, 500 producers, 10,000 topics; LOAD=quick ~3 min; writes reports/load.md
	@LOAD="$(LOAD)" fixtures/scripts/load.sh

test: ## formatting, vet, staticcheck and unit tests (no Docker needed)
	@fixtures/scripts/test.sh

fuzz: ## fuzz every API version the server serves, in-process, for FUZZTIME (default 30s; no Docker)
	go test ./reference/server -run '^$$' -fuzz '^FuzzHandlers$$' -fuzztime $(FUZZTIME)

images: ## build (or reuse) the Pulsar and reference images
	@PULSAR_IMAGE="$(PULSAR_IMAGE)" fixtures/scripts/images.sh conformance/out/images.env

reference: ## build the kop-reference binary into bin/
	@CGO_ENABLED=0 go build -trimpath -o bin/kop-reference ./reference/cmd/kop-reference && echo bin/kop-reference

clean: ## remove build outputs and suite output (images stay cached)
	rm -rf bin conformance/out
