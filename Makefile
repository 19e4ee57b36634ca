# One command each: `make dev` runs the product locally, `make test` runs every test.
# The scripts live in scripts/; this file only names them.
.PHONY: dev test setup build lint bench fuzz clean

dev:
	@scripts/dev.sh

test:
	@scripts/test.sh

setup:
	@scripts/setup.sh

build: setup
	@scripts/build.sh

lint: setup
	@scripts/lint.sh

bench: setup
	@scripts/bench.sh

fuzz: setup
	@scripts/fuzz.sh

clean:
	cargo clean
	rm -rf frontend/dist edge/build .state
