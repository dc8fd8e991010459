# toxmail — see README.md.
GO        ?= go
PKGS      ?= ./...
TESTFLAGS ?= -race -count=1 -timeout 15m
BENCH     ?= .

.PHONY: all deps build vet test bench fuzz fmt clean demo sim

all: build

deps:
	@scripts/install-deps

build: deps
	$(GO) build $(PKGS)

vet: deps
	$(GO) vet $(PKGS)

# The main job on an embedded local network: three real Tox nodes on
# loopback pass a mail from alice to an offline carol through bob. Runs
# in the loopback-only namespace when the machine allows it.
demo: deps
	$(GO) build -o bin/toxmail ./cmd/toxmail
	scripts/sandbox-test bin/toxmail demo

# A quick simulator study with plots in sim-out/ (see README "Simulator").
sim: deps
	$(GO) build -o bin/toxmail ./cmd/toxmail
	bin/toxmail sim --nodes 2000 --ttl 1-6 --out sim-out

# The tests run in a loopback-only network namespace with the module proxy
# off (scripts/sandbox-test).
test: deps vet
	scripts/sandbox-test $(GO) test $(TESTFLAGS) $(PKGS)

# Benchmarks, one core, as recorded in README.md.
bench: deps
	scripts/sandbox-test $(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -cpu 1 $(PKGS)

# A short run of every fuzz target.
fuzz: deps
	@for p in envelope mesh inbox tox gateway config sim; do \
	  for f in $$($(GO) test -list 'Fuzz.*' ./$$p | grep ^Fuzz); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s ./$$p || exit 1; \
	  done; \
	done

fmt:
	gofmt -l -w .

clean:
	$(GO) clean -testcache
