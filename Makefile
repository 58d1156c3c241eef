# Thin wrapper over CMake/CTest. See README.md.
BUILD    ?= build
ASANBUILD ?= build-asan
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc)
CMAKE_FLAGS = -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build check check-asan test demo install clean

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
	ctest --test-dir $(ASANBUILD) --output-on-failure -j$(JOBS)

check: deps
	$(MAKE) test
	$(MAKE) check-asan

demo: deps build
	@scripts/demo.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASANBUILD)
