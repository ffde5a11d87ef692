# The wheel on its own (issue #16): `make check-wheel` builds it (not editable) from a copy of
# the working tree, installs it with --no-deps --no-index in a clean venv that borrows only
# the third-party packages of .venv, and runs `newsops demo --no-crawl` outside the checkout
# to `verifier: OK` (scripts/check_wheel.py says how). A fresh home trains the demo's company
# model first: about 10 minutes on a 2-core machine, 2-3 without the training. Set
# CHECK_WHEEL_HOME to a folder to keep the home between checks (a rerun skips the training).
CHECK_WHEEL_HOME ?=

.PHONY: check-wheel

check-wheel: $(STAMP)
	$(PY) scripts/check_wheel.py $(if $(CHECK_WHEEL_HOME),--home $(CHECK_WHEEL_HOME))
