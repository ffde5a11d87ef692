# Lineage (chalicelib/modellock.py, docs/deploy.md "Lineage"):
#   make model-lock    chalicelib/config/model_lock.json from the installed model packages
#                      (distribution, version, RECORD fingerprint of every package: model of
#                      the task config); commit it with the requirement change that moved them
#   make check-model-lock   fails when the lock and the installed packages disagree
.PHONY: model-lock check-model-lock

model-lock: $(STAMP)
	$(PY) -m chalicelib.modellock write

check-model-lock: $(STAMP)
	$(PY) -m chalicelib.modellock check
