# Zeus-C: the README's two commands, `make run` and `make test`, and their parts.
#
#   make run      install what is missing, build, measure a demo load on the devices found
#                 (or on the simulated GPU, with a notice, where there is none)
#   make test     install, build, run every test (C, the Python binding, the Debian
#                 packages and pip installs); then the C tests again under ASan+UBSan and TSan
#   make build    just build (build/)
#   make bench    the benchmarks

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build run test test-plain test-python test-packaging test-asan test-tsan bench clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@sh scripts/run-demo.sh $(BUILD)

test: test-plain test-python test-packaging test-asan test-tsan

test-plain: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The zeusc binding, built against $(BUILD), tested with Debian's python3 and pytest.
test-python: build
	sh scripts/test-python.sh $(BUILD)

# Installing as users do: the two Debian packages (cpack -G DEB), unpacked into a scratch root;
# zeusc into fresh venvs from ./python and from an sdist, with no libzeus installed.
test-packaging: build
	sh tests/install/check-deb.sh $(BUILD) .
	sh tests/install/check-python-install.sh $(BUILD) .

test-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DZEUS_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS)

test-tsan: deps
	@cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=Debug -DZEUS_TSAN=ON >/dev/null
	@cmake --build $(BUILD_TSAN) -j $(JOBS)
	TSAN_OPTIONS=halt_on_error=1 ctest --test-dir $(BUILD_TSAN) --output-on-failure -j $(JOBS) -L 'unit|integration'

bench: build
	$(BUILD)/zeus bench windows

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN)
