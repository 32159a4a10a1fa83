# Entry points. `make demo` and `make test` work on a fresh Debian machine with Rust installed;
# `make test` installs what it needs (rustup target, apt and pip packages) itself.

CARGO ?= cargo
PYTHON ?= python3
THUMB := thumbv7m-none-eabi
PROBE := rust/size-probe
VENV := target/venv
PY := $(VENV)/bin/python

.PHONY: all demo test test-deps test-rust test-thumb test-interop test-scripts test-eval test-riot lint size bench fuzz eval clean

all: test

## demo: server and host client on loopback: registration, read, write, observation; stops by itself.
demo:
	@tests/install-deps.sh build
	$(CARGO) run --release -q -p lwm2m-demo

## test: every test (formatting, lints, unit, integration, no_std build, interoperability).
test: test-deps lint test-rust test-thumb test-interop test-scripts test-eval test-riot

test-deps:
	@tests/install-deps.sh

## The fuzz crate (rust/lwm2m/fuzz) is outside the workspace; it shares the workspace's target
## folder for its replay test and lint, built without libFuzzer (--no-default-features).
FUZZ_DIR := rust/lwm2m/fuzz
FUZZ_CARGO := cd $(FUZZ_DIR) && CARGO_TARGET_DIR=$(CURDIR)/target $(CARGO)

lint:
	$(CARGO) fmt --all -- --check
	cd $(FUZZ_DIR) && $(CARGO) fmt -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(FUZZ_CARGO) clippy --no-default-features --all-targets -- -D warnings

## Then every committed fuzz corpus file (rust/lwm2m/fuzz/seeds/<target>/) through its target.
test-rust:
	$(CARGO) test --workspace
	$(CARGO) test -p lwm2m-oscore --features aead-ccm-only --lib
	$(FUZZ_CARGO) test --no-default-features

## The engine must build for the device target, without std and without a heap.
test-thumb:
	$(CARGO) build -p lwm2m --target $(THUMB) --release
	$(CARGO) build -p lwm2m --target $(THUMB) --release --features c2c-auth
	$(CARGO) build -p lwm2m --target $(THUMB) --release --no-default-features
	$(CARGO) build -p lwm2m --target $(THUMB) --release --no-default-features --features fota
	$(CARGO) build -p lwm2m-oscore --target $(THUMB) --release
	cd $(PROBE) && $(CARGO) build --release

test-interop:
	$(CARGO) build --release -p lwm2m-host -p lwm2m-server
	$(PY) -m pytest -q tests/interop tests/lossy

## The RIOT scenario's own tools (simulated radio medium, event-log figures), without RIOT.
test-scripts:
	$(PY) -m pytest -q tests/riot

## The evaluation pipeline (tests/eval): medium arithmetic, experiment files, analysis on
## recorded logs, IoT-LAB dry runs, and the host backend end to end on a small experiment.
test-eval:
	$(CARGO) build --release -p lwm2m-host -p lwm2m-server
	$(PY) -m pytest -q tests/eval

## RIOT scenario on native64: runs when RIOTBASE is set, skips with a message otherwise.
test-riot:
	@bash tests/riot/run.sh

## size: text / data / bss of the engine linked into a bare-metal thumbv7m program.
## One line per configuration: tiny (text, opaque, link formats; no bootstrap, Discover,
## Write / Create / Delete: see the README), minimal (text, opaque, link formats only),
## baseline (all content formats), c2c (hosting side of client-to-client), c2c-auth (both
## sides), send (baseline with Send, `POST /dp`), observe-composite, queue-mode (baseline with
## Queue Mode), fota (baseline with Firmware Update, object 5, push only), fota-pull (fota with
## pull: `Firmware::with_pull` and the engine's `firmware_pull*`); then where the bytes go, per
## group of symbols (rust/size-probe/breakdown.py; the groups sum to text). SIZE_SAVE=<file>
## saves the groups, SIZE_COMPARE=<file> adds the change.
SIZE_CONFIGS := tiny minimal baseline c2c c2c-auth send observe-composite queue-mode fota fota-pull
SIZE_FLAGS_tiny := --no-default-features --features tiny
SIZE_FLAGS_minimal := --no-default-features --features minimal
SIZE_FLAGS_baseline :=
SIZE_FLAGS_c2c := --features c2c
SIZE_FLAGS_c2c-auth := --features c2c-auth
SIZE_FLAGS_send := --features send
SIZE_FLAGS_observe-composite := --features observe-composite
SIZE_FLAGS_queue-mode := --features queue-mode
SIZE_FLAGS_fota := --features fota
SIZE_FLAGS_fota-pull := --features fota-pull
size_elf = $(PROBE)/target/size-$(1)/$(THUMB)/release/lwm2m-size-probe
size:
	@$(foreach c,$(SIZE_CONFIGS),(cd $(PROBE) && $(CARGO) build --release -q $(SIZE_FLAGS_$(c)) --target-dir target/size-$(c)) && \
	  $(PYTHON) $(PROBE)/elf_size.py --label $(c) $(call size_elf,$(c)) LWM2M_ENGINE_STATE_SIZE \
	  LWM2M_FIRMWARE_STATE_SIZE && ) true
	@echo
	@$(PYTHON) $(PROBE)/breakdown.py $(if $(SIZE_SAVE),--save $(SIZE_SAVE)) $(if $(SIZE_COMPARE),--compare $(SIZE_COMPARE)) \
	  $(foreach c,$(SIZE_CONFIGS),$(c)=$(call size_elf,$(c)))
	@echo
	@echo "deepest stack below a request and below poll (tests/riot/stack_frames.py; calls through"
	@echo "&dyn Object count as calls to every object method, so these are upper bounds):"
	@$(foreach c,baseline c2c-auth,$(PYTHON) tests/riot/stack_frames.py $(call size_elf,$(c)) \
	  --root 'lwm2m::engine::Engine::handle_request' --root 'lwm2m::engine::Engine::poll' \
	  --indirect 'as lwm2m::dm::Object>::' | grep '^deepest' | sed 's/^/$(c): /' && ) true

## bench: benchmarks (reported, never asserted), then the CPU cost per protected request:
## instructions per request (NoSec, DTLS, OSCORE) and per handshake / context setup, counted
## by valgrind's callgrind (wall-clock times instead when valgrind cannot be installed).
bench:
	@tests/install-deps.sh bench
	$(CARGO) run --release -q -p lwm2m-demo -- --bench
	$(CARGO) run --release -q -p lwm2m-demo --bin lwm2m-cpu -- --callgrind

## eval: the paper's evaluation (tests/eval/README.md). Without EXP: the small variants of
## Figures 7a, 7b, 8, 10 and 9 on the host backend (a few minutes), then one summary table
## (BACKEND=riot: the reduced Fig. 7a and Fig. 8 of experiments/riot-fig7a.toml and
## riot-reduced.toml).
## `make eval EXP=tests/eval/experiments/fig8.toml BACKEND=host|riot|iotlab` for one
## experiment (iotlab: the dry run, which contacts nothing).
EXP ?=
BACKEND ?= host
EVAL_QUICK := fig7a-quick fig7b-quick fig8-quick fig10-quick fig9-quick
ifeq ($(BACKEND),riot)
EVAL_QUICK := riot-fig7a riot-reduced
endif
eval:
	@tests/install-deps.sh eval
	$(CARGO) build --release -q -p lwm2m-host -p lwm2m-server
	@if [ -n "$(EXP)" ]; then \
	  $(PY) tests/eval/eval.py "$(EXP)" --backend $(BACKEND) $(if $(filter iotlab,$(BACKEND)),--dry-run); \
	else \
	  for e in $(EVAL_QUICK); do \
	    $(PY) tests/eval/eval.py tests/eval/experiments/$$e.toml --backend $(BACKEND) \
	      $(if $(filter iotlab,$(BACKEND)),--dry-run) || exit 1; \
	  done; \
	  $(if $(filter host,$(BACKEND)),$(PY) tests/eval/analyze.py --summary target/eval/summary.md \
	    $(foreach e,$(EVAL_QUICK),target/eval/$(e)-$(BACKEND));) \
	fi

## fuzz: run every fuzz target for FUZZ_SECONDS each, starting from its committed corpus
## (seeds/<target>/, read only; new inputs go to the ignored corpus/<target>/). Needs cargo-fuzz
## but no nightly toolchain: RUSTC_BOOTSTRAP=1 lets the stable compiler take the -Z flags
## cargo-fuzz passes (sanitizer, coverage). Minimize into the committed corpus with
## `cargo fuzz cmin` (see rust/lwm2m/fuzz/README.md).
FUZZ_SECONDS ?= 60
fuzz:
	cd $(FUZZ_DIR) && for t in $$($(CARGO) fuzz list); do mkdir -p corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; done

clean:
	$(CARGO) clean
	cd $(PROBE) && $(CARGO) clean
