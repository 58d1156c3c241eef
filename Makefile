# Thin wrapper over CMake/CTest. See README.md.
BUILD    ?= build
ASANBUILD ?= build-asan
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc)
CMAKE_FLAGS = -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build check check-asan test demo bench install clean

all: build

deps:
	@scripts/install-deps.sh

build:
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

check-asan: deps
	@test -f $(ASANBUILD)/CMakeCache.txt || cmake -S . -B $(ASANBUILD) $(CMAKE_FLAGS) -DOM_SANITIZE=address,undefined >/dev/null
	cmake --build $(ASANBUILD) -j$(JOBS)
	# The strategy x tracker x workload matrix runs once, in the plain build:
	# enclave images are never sanitized, and the host paths it exercises
	# are covered under the sanitizers by the other migration tests.
	ctest --test-dir $(ASANBUILD) --output-on-failure -j$(JOBS) -LE 'matrix|workload-migrate'

check: deps
	$(MAKE) test
	$(MAKE) check-asan

demo: deps build
	@scripts/demo.sh $(BUILD)

# The evaluation matrix (as root): bench/live (memstress), bench/pass,
# bench/workloads and bench/kv, all into bench/results/. See bench/README.md. Override a
# matrix with LIVE_SIZES, LIVE_STRATEGIES, LIVE_TRACKERS, LIVE_RATES, WL_WORKLOADS,
# WL_STRATEGIES, WL_SIZES in the environment.
bench: deps build
	@test "$$(id -u)" = 0 || { echo "make bench: run it as root (network namespaces)" >&2; exit 1; }
	@rc=0; \
	BUILD=$(BUILD) OUT=bench/results SIZES="$${LIVE_SIZES:-1 2 4}" \
	  STRATEGIES="$${LIVE_STRATEGIES:-stop-and-copy precopy postcopy hybrid}" \
	  TRACKERS="$${LIVE_TRACKERS:-compiler kernel}" RATES="$${LIVE_RATES:-high low}" \
	  bench/live/run.sh || { echo "make bench: bench/live/run.sh failed" >&2; rc=1; }; \
	OUT=bench/results/pass_overhead.md bash bench/pass/run.sh $(BUILD) || { echo "make bench: bench/pass/run.sh failed" >&2; rc=1; }; \
	BUILD=$(BUILD) OUT=bench/results WORKLOADS="$${WL_WORKLOADS:-bfs btree hashjoin pagerank xsbench}" \
	  STRATEGIES="$${WL_STRATEGIES:-stop-and-copy precopy postcopy hybrid}" SIZES="$${WL_SIZES:-256M 1G}" \
	  bench/workloads/run.sh || { echo "make bench: bench/workloads/run.sh failed" >&2; rc=1; }; \
	BUILD=$(BUILD) OUT=bench/results bench/kv/run.sh || { echo "make bench: bench/kv/run.sh failed" >&2; rc=1; }; \
	exit $$rc

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASANBUILD)
