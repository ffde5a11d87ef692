# The batch job's own environment (issue #15): built the way batch_container/Dockerfile builds
# the image, from batch_container/requirements.txt alone, then the Dockerfile's import check.
#   make job-env        .venv-job/: a clean venv, torch, then -c constraints.txt -r requirements
#   make check-job-env  install what the image copies (pip install --no-deps), run its checks
# The venv is rebuilt from scratch only when a requirement file's content changes (the stamp
# carries their hash); each check reinstalls the code, so it tests the working tree.
# The torch wheel is the CPU build of the image's exact version (2.13.0+cpu, on this machine's
# disk): `==2.13.0+cpu` can never resolve to the multi-GB CUDA build.
JOB_VENV := .venv-job
JOB_PY := $(JOB_VENV)/bin/python
JOB_REQS := constraints.txt batch_container/requirements.txt
JOB_TORCH := torch==2.13.0+cpu
JOB_KEY := $(shell cat $(JOB_REQS) | sha256sum | cut -c1-16)
JOB_STAMP := $(JOB_VENV)/.installed-$(JOB_KEY)
JOB_STAGE := build/job-image
JOB_PIP := $(JOB_PY) -m pip install -q --disable-pip-version-check

.PHONY: job-env check-job-env

$(JOB_STAMP):
	rm -rf $(JOB_VENV)
	$(PYTHON) -m venv $(JOB_VENV)
	$(JOB_PIP) --upgrade pip==26.2.1
	$(JOB_PIP) $(JOB_TORCH)
	$(JOB_PIP) -c constraints.txt -r batch_container/requirements.txt
	touch $@

job-env: $(JOB_STAMP)

# What the Dockerfile COPYs (and nothing else: newsops/, tests/ and scripts/ are not in the
# image), installed as it installs them; the checks run outside the repository, so the
# installed copy is what imports.
check-job-env: $(JOB_STAMP)
	rm -rf $(JOB_STAGE) && mkdir -p $(JOB_STAGE)/src/batch_container $(JOB_STAGE)/run
	cp pyproject.toml $(JOB_STAGE)/src/
	tar -c --exclude=__pycache__ --exclude='*.pyc' chalicelib batch_container/newsops_batch \
		| tar -x -C $(JOB_STAGE)/src
	$(JOB_PIP) --no-deps --force-reinstall $(JOB_STAGE)/src
	cd $(JOB_STAGE)/run && $(abspath $(JOB_PY)) -m newsops_batch.importcheck \
		&& $(abspath $(JOB_PY)) -m chalicelib.modellock check

test: check-job-env
