# The two commands of the README. Both set everything up first (idempotent; seconds when
# nothing changed), with DDS confined to loopback and a domain id of their own.
SHELL := /bin/bash
.PHONY: setup demo test bench eval clean

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/in_env.sh python -m moral_compass_ros.tools.cli demo $(ARGS)

test: setup
	@bash scripts/test.sh $(ARGS)

bench: setup
	@bash scripts/in_env.sh python -m moral_compass_ros.tools.cli bench $(ARGS)

eval: setup
	@bash scripts/in_env.sh python -m moral_compass_ros.tools.cli eval $(ARGS)

clean:
	rm -rf build install log
