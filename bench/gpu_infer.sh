#!/usr/bin/env bash
# The inference benchmark on a CUDA machine without this project's environment or the MiniLM
# package: carried wheels for the few pure dependencies, the MiniLM tokenizer files, and random
# models of the real configs (MiniLM-L6 and BERT-base). Results land in bench/results/ and $OUT.
# Baselines: the naive one-text-at-a-time loop and sentence-transformers encode() (batch_size=32,
# fp32, its defaults) over the same random model; the results carry the GPU goal (bench_infer.py
# GPU_GOAL) and the card's measured bf16 matmul rate as the ceiling.
#   .whl/  wheels of pydantic, pydantic-core, annotated-types, typing-inspection, orjson,
#          sentence-transformers==6.2.0 (pure Python) and, where the machine lacks them,
#          scikit-learn and scipy (cp312), which sentence-transformers imports
#   .gpu/minilm-tokenizer/  vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json
set -euo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
# Where the project's own environment is installed, neither folder is needed.
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
fi
export PYTHONPATH=/tmp/site:$PWD:$PWD/batch_container
out=${OUT:-/tmp/out}
mkdir -p "$out"
nproc; nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,power.draw --format=csv | tee "$out/gpu.txt"
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'
# The encode() baseline is part of the result: stop here, saying why, rather than measure without it.
python3 -c 'import sentence_transformers as s; print("sentence-transformers", s.__version__)' || {
  echo "sentence-transformers is not importable: carry its wheel (and scikit-learn, scipy) in .whl/" >&2; exit 2; }
tokenizer=()
[ -d .gpu/minilm-tokenizer ] && tokenizer=(--tokenizer .gpu/minilm-tokenizer)
common=(--random-init "${tokenizer[@]}" --no-rss --rounds 4 --batch-tokens "${BATCH_TOKENS:-65536}")
python3 bench/bench_infer.py "${common[@]}" --config minilm --texts "${TEXTS_MINILM:-4000}" \
  --result-name infer_gpu_minilm 2>&1 | grep --line-buffered -v -E "Loading weights|Writing model" | tee "$out/minilm.log"
cp bench/results/infer_gpu_minilm.json "$out/"
python3 bench/bench_infer.py "${common[@]}" --config bert-base --texts "${TEXTS_BERT:-2000}" \
  --result-name infer_gpu_bert_base 2>&1 | grep --line-buffered -v -E "Loading weights|Writing model" | tee "$out/bert_base.log"
cp bench/results/infer_gpu_bert_base.json "$out/"
