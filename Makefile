# The documented commands. README and CI call these targets.
GO        ?= go
BIN_DIR   := bin
BINARY    := $(BIN_DIR)/locations-worker
HARNESSES := test/harness/v1 test/harness/v2
FUZZTIME  ?= 10s

.PHONY: build test test-go fuzz bench lint deps demo clean

build:
	CGO_ENABLED=1 $(GO) build -trimpath -o $(BINARY) ./cmd/locations-worker

# deps installs the pinned npm harnesses: Tonk's real sync server, the JS
# keepsync clients and pm2. npm ci fails when a lock file is missing.
deps:
	@for h in $(HARNESSES); do \
	  echo "npm ci in $$h"; \
	  (cd $$h && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	done

# test is everything CI runs.
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) fuzz

fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

bench: deps
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./...

# lint: gofmt, go vet and staticcheck (run from the Go module proxy at a
# pinned version).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# demo starts Tonk's sync server on a free loopback port, imports the sample
# archive, prints the document as the worker and a JavaScript client see it,
# and stops the server.
demo: deps build
	./scripts/demo.sh

clean:
	rm -rf $(BIN_DIR)

# bench-compare runs the side-by-side benchmark: locations-worker against the
# TypeScript worker's pipeline reproduced in bench/reference, on the same
# archives and a fresh real sync server each (see docs/benchmarks.md).
# Override the sizes or runs with BENCH_COMPARE_FLAGS="-sizes 1000 -runs 1".
.PHONY: bench-compare soak
bench-compare: deps build
	$(GO) run ./bench/compare -bin $(BINARY) $(BENCH_COMPARE_FLAGS)

# soak runs the long soak test with faults (SOAK_CYCLES, default 200); its
# short form (12 cycles) runs with every `go test ./...`.
SOAK_CYCLES ?= 200
soak: deps build
	SOAK_CYCLES=$(SOAK_CYCLES) SOAK_BIN=$(abspath $(BINARY)) $(GO) test -count=1 -timeout 0 -v -run '^TestSoak$$' ./bench/soak
