# cimsim — the two commands: `make demo` and `make test`.
#
# Both install the Debian packages cimsim needs when they are missing
# (tools/setup.sh), configure and build with CMake, then run.  `make test`
# first checks that the C files are formatted (`make format-check`), then
# runs every test twice: in the normal build and in a build with
# AddressSanitizer and UndefinedBehaviorSanitizer; then the libFuzzer
# harnesses of every reader (`make fuzz` runs them longer).  `make format` formats
# the C files with the pinned clang-format 14 (tools/format-check.sh).

BUILD     ?= build
SAN_BUILD ?= build-san
FUZZ_BUILD ?= build-fuzz
# Seconds each libFuzzer harness runs: in `make test` (CI's bounded run)
# and in `make fuzz`.
FUZZ_TEST_SECONDS ?= 10
FUZZ_SECONDS ?= 60
FUZZ_RUN_SECONDS ?= $(FUZZ_TEST_SECONDS)
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
# Warnings are errors in CI (CI=true) and wherever WERROR=ON is given.
WERROR    ?= $(if $(CI),ON,OFF)
CMAKE_FLAGS = -DCIM_WERROR=$(WERROR)
DEMO_RANKS ?= 8
DEMO      ?= configs/experiments/llama2-7b-8chips.yaml

.PHONY: all setup build build-san build-fuzz demo test test-fast validate fuzz format-check format clean

all: build

setup:
	@sh tools/setup.sh

build: setup
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

build-san: setup
	cmake -S . -B $(SAN_BUILD) $(CMAKE_FLAGS) -DCIM_SANITIZE=ON
	cmake --build $(SAN_BUILD) -j $(JOBS)

# The libFuzzer harnesses (tests/fuzz), with clang 14.
build-fuzz: setup
	cmake -S . -B $(FUZZ_BUILD) $(CMAKE_FLAGS) -DCMAKE_C_COMPILER=clang-14 -DCIM_FUZZ=ON \
		-DCIM_FUZZ_SECONDS=$(FUZZ_RUN_SECONDS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

demo: build
	sh tools/mpirun.sh -np $(DEMO_RANKS) $(BUILD)/coordinator/cimsim run $(DEMO)

# The formatting check, then every test in the normal build, then again
# under the sanitizers, then every fuzz harness: the committed inputs that
# once crashed or hung a reader, and FUZZ_TEST_SECONDS of fuzzing each.
test: format-check build build-san build-fuzz
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(SAN_BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j $(JOBS)

# Every harness for FUZZ_SECONDS, then the inputs run and the coverage of
# each (docs/robustness.md).
fuzz:
	$(MAKE) build-fuzz FUZZ_RUN_SECONDS=$(FUZZ_SECONDS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j $(JOBS)
	sh tools/fuzz-report.sh $(FUZZ_BUILD)

# Every validation case against its measured system, and the residual
# table (docs/validation.md).
validate: build
	sh tools/validate.sh $(BUILD)

# Only the normal build, for a quick check while developing.
test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Fails listing the C files clang-format 14 would change (.clang-format).
format-check: setup
	sh tools/format-check.sh

# Formats those files in place; review with git diff.
format: setup
	sh tools/format-check.sh --fix

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)
