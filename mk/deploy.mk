# Deploy and packaging (docs/deploy.md):
#   make tools                     the pinned template checkers in .venv-tools/
#   make check-templates           cfn-lint, checkov, statelint, workflow schema (offline)
#   make package [STAGE=dev]       ONE CloudFormation template: build/package/sam.json (+ deployment.zip)
#   make deploy STAGE=dev [REGION=eu-west-1] [PARAMS="Key=Value ..."] [IMAGE_URI=repo@sha256:...]
#   make smoke STAGE=dev           GET /health of the deployed API, SigV4-signed
STAGE ?= dev
APP_NAME ?= newsops
PARAMS ?=
IMAGE_URI ?=
TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed
TOOLS_REQS := scripts/deploy/requirements-tools.txt
CHALICE := $(VENV)/bin/chalice
CODE_VERSION ?= $(shell git rev-parse HEAD 2>/dev/null)
DEPLOY_PY := $(PY) -m scripts.deploy.deploy
STACK_PARAMS := $(foreach p,$(PARAMS) $(if $(IMAGE_URI),ImageUri=$(IMAGE_URI)),--param $(p))
ifdef REGION
export AWS_REGION := $(REGION)
export AWS_DEFAULT_REGION := $(REGION)
endif

.PHONY: tools package check-templates deploy smoke

$(TOOLS_STAMP): $(TOOLS_REQS)
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install -q --disable-pip-version-check --upgrade pip==26.2.1
	$(TOOLS_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps -r $(TOOLS_REQS)
	touch $@

tools: $(TOOLS_STAMP)

# tests/infra run the checkers: `make test` installs them first.
test: $(TOOLS_STAMP)

package: $(STAMP)
	$(PY) -m scripts.deploy.package --stage $(STAGE)

check-templates: $(STAMP) $(TOOLS_STAMP)
	$(PY) -m scripts.deploy.package --stage $(STAGE)
	$(PY) -m scripts.deploy.checks --package build/package/sam.json

# Stacks first (their outputs name every resource), then the stage config, then Chalice with
# its deployed state pulled from and pushed back to S3 (pushed even when chalice deploy fails).
deploy: $(STAMP)
	$(PY) -m scripts.deploy.build_template
	$(DEPLOY_PY) stacks --stage $(STAGE) --app $(APP_NAME) $(STACK_PARAMS)
	$(PY) -m scripts.deploy.stage_config --stage $(STAGE) --outputs build/deploy/$(STAGE)/outputs.json --code-version "$(CODE_VERSION)"
	$(DEPLOY_PY) pull-state --stage $(STAGE) --app $(APP_NAME)
	$(CHALICE) deploy --stage $(STAGE); rc=$$?; $(DEPLOY_PY) push-state --stage $(STAGE) --app $(APP_NAME) && exit $$rc
	$(DEPLOY_PY) post --stage $(STAGE) --app $(APP_NAME)

smoke: $(STAMP)
	$(DEPLOY_PY) smoke --stage $(STAGE) --app $(APP_NAME)
