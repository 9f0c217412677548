# The two commands: `make run` runs the system, `make test` runs the whole test suite.
.PHONY: bootstrap run down status feed test bench docs pin

bootstrap:
	@bash deploy/local/bootstrap.sh

run: bootstrap
	uv run --no-sync clientbase-system run

down:
	uv run --no-sync clientbase-system down

status:
	uv run --no-sync clientbase-system status

feed:
	uv run --no-sync clientbase-system feed

test: bootstrap
	mkdir -p .local
	uv run --no-sync pytest --basetemp=.local/pytest

bench: bootstrap
	uv run --no-sync python -m benchmarks.system $(BENCH_ARGS)

docs:
	uv run --no-sync python -m clientbase.readme_tables README.md
	for svc in intake rotation notify metrics; do \
	  uv run --no-sync faststream docs gen $$svc.app:create_app --factory -o docs/asyncapi/$$svc.json; \
	done

pin:
	uv run --no-sync python deploy/pin_versions.py
