# mp — the interface people use. `make run` and `make test` are the two set-up commands.
# Everything a fresh Debian 12 machine needs is installed by `make deps`.

BUILD_DIR   ?= build
BUILD_TYPE  ?= RelWithDebInfo
JOBS        ?= 2
HOST        ?= 127.0.0.1
PORT        ?= 8002
CMAKE_FLAGS ?=

# Exactly the Debian packages the project needs: toolchain, libraries, test and bench peers.
DEB_BUILD  := cmake ninja-build g++ ccache pkg-config git
DEB_LIBS   := libboost1.81-dev libcli11-dev libhiredis-dev libsqlite3-dev \
              libcurl4-openssl-dev rapidjson-dev libspdlog-dev libfmt-dev catch2 \
              libtomlplusplus-dev libzstd-dev libssl-dev
DEB_TEST   := redis-server prometheus python3 python3-websockets curl nginx-light
# npm is not listed: Debian's npm package conflicts with NodeSource's nodejs, which bundles
# its own npm; bench-deps installs Debian's only when no npm is on the PATH.
DEB_BENCH  := wrk nginx-light nodejs
DEB_LINT   := clang-format clang-tidy-16
DEB_FUZZ   := clang-16 libclang-rt-16-dev
DEB_ALL    := $(DEB_BUILD) $(DEB_LIBS) $(DEB_TEST) $(DEB_BENCH) $(DEB_LINT)

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps bench-deps build run test bench format format-check lint sanitize tsan fuzz completions install clean help

all: build

## deps: install the missing Debian packages (idempotent; apt-get update only when needed)
deps:
	@missing=$$(for p in $(DEB_ALL); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing:" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "make deps: all $(words $(DEB_ALL)) packages present"; \
	fi

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

## build: configure (once) and compile everything with Ninja
build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

## run: build and start mp-serve on $(HOST):$(PORT) with the embedded defaults
run: build
	@echo "make run: mp-serve on http://$(HOST):$(PORT) (Ctrl-C stops it)"
	$(BUILD_DIR)/tools/mp-serve --host $(HOST) --port $(PORT)

## test: build and run the whole suite (unit + integration, private redis-server) via ctest
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

## bench: the benchmarks under bench/ (loopback only, bounded in time)
bench: build
	bench/http_baseline.sh --build-dir $(BUILD_DIR)
	bench/cache_hit.sh --build-dir $(BUILD_DIR)
	bench/analyser.sh --build-dir $(BUILD_DIR)
	bench/pipeline_bench.py all --build-dir $(BUILD_DIR)
	bench/ws_push.sh --build-dir $(BUILD_DIR)
	bench/monitor_store.sh --build-dir $(BUILD_DIR)
	bench/monitor_overhead.sh --build-dir $(BUILD_DIR)
	bench/generator.sh --build-dir $(BUILD_DIR)
	bench/cache_flush.sh --build-dir $(BUILD_DIR)
	bench/l2_hit.sh --build-dir $(BUILD_DIR)
	bench/redis_client.sh --build-dir $(BUILD_DIR)
	bench/shared_queue.sh --build-dir $(BUILD_DIR)
	bench/limit_overshoot.py --build-dir $(BUILD_DIR)

## bench-deps: the Node peer of bench/ws_push.sh (npm ci from bench/node/package-lock.json)
bench-deps: deps
	@command -v npm >/dev/null || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm
	npm ci --prefix bench/node --no-audit --no-fund

## format: clang-format every C++ source in place; format-check fails on a diff
format:
	git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' | xargs -r clang-format -i
format-check:
	git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' | xargs -r clang-format --dry-run --Werror

## lint: clang-tidy over the library and tools (its own compile database: no GCC PCH)
# clang 14 spells C++23 c++2b, and libstdc++ 12 hides std::expected unless
# __cpp_concepts says C++20 concepts, which clang 14 implements but does not announce.
LINT_ARGS := --extra-arg=-std=c++2b --extra-arg=-U__cpp_concepts --extra-arg=-D__cpp_concepts=202002L
lint: deps
	cmake -S . -B $(BUILD_DIR)-lint -G Ninja -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON -DMP_BUILD_TESTS=OFF >/dev/null
	git ls-files 'lib/*.cpp' 'tools/*.cpp' | xargs -P $(JOBS) -n 4 clang-tidy-16 -p $(BUILD_DIR)-lint --quiet $(LINT_ARGS)

## sanitize: the test suite under AddressSanitizer + UndefinedBehaviorSanitizer
sanitize: deps
	cmake -S . -B $(BUILD_DIR)-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMP_SANITIZE=address,undefined
	cmake --build $(BUILD_DIR)-asan -j $(JOBS)
	cd $(BUILD_DIR)-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

## tsan: the test suite under ThreadSanitizer
tsan: deps
	cmake -S . -B $(BUILD_DIR)-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMP_SANITIZE=thread
	cmake --build $(BUILD_DIR)-tsan -j $(JOBS)
	cd $(BUILD_DIR)-tsan && ctest --output-on-failure -j $(JOBS)

## fuzz: build the libFuzzer targets with clang and run each for FUZZ_SECONDS
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := json ai_request config keys
fuzz:
	@$(MAKE) --no-print-directory deps DEB_ALL="$(DEB_FUZZ)"
	CXX=clang++-16 cmake -S . -B $(BUILD_DIR)-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DMP_FUZZ=ON -DMP_DEV=OFF -DMP_BUILD_TESTS=OFF
	cmake --build $(BUILD_DIR)-fuzz -j $(JOBS) $(addprefix --target fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD_DIR)-fuzz/corpus/$$t; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
	  $(BUILD_DIR)-fuzz/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(BUILD_DIR)-fuzz/ \
	    $(BUILD_DIR)-fuzz/corpus/$$t tests/fuzz/corpus/$$t > $(BUILD_DIR)-fuzz/fuzz_$$t.log 2>&1; rc=$$?; \
	  tail -1 $(BUILD_DIR)-fuzz/fuzz_$$t.log; \
	  [ $$rc -eq 0 ] || { echo "fuzz_$$t failed: $(BUILD_DIR)-fuzz/fuzz_$$t.log and the crash-* file beside it"; exit 1; }; \
	done

## completions: regenerate completions/ from the tools' --help
completions: build
	scripts/gen_completions.py $(BUILD_DIR)

## install: binaries, man pages, completions (PREFIX=/usr/local by default)
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

## clean: remove the build trees
clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR)-asan $(BUILD_DIR)-tsan $(BUILD_DIR)-lint $(BUILD_DIR)-fuzz

help:
	@grep -E '^## ' Makefile | sed 's/^## /  /'
