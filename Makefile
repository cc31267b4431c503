# The two commands of README.md: `make run` and `make test`. Both install what they need first.
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

# ccache shares objects across checkouts in different folders (CI clones anew each time).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
export CCACHE_MAXSIZE ?= 5G

.PHONY: setup configure build test sanitize format format-check run bench install clean

setup:
	scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	scripts/test.sh $(BUILD)

# ASan+UBSan build of the libraries and tests that do not load LibTorch (CMakeLists.txt,
# TRADEBOT_SANITIZE); .ci/run runs it after `make test`.
sanitize: setup
	cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRADEBOT_SANITIZE=ON $(SANITIZE_FLAGS)
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	scripts/test.sh $(SANITIZE_BUILD)

# The house style (.clang-format): `make format` rewrites in place the C++ files git tracks and the
# new ones it does not ignore; `make format-check` (run by .ci/run) fails naming each file that differs.
SOURCES = $(shell git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp')
format: setup
	clang-format -i $(SOURCES)

format-check: setup
	clang-format --dry-run --Werror $(SOURCES)

run: build
	scripts/run-demo.sh $(BUILD)

bench: build
	scripts/bench.sh $(BUILD)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD)
