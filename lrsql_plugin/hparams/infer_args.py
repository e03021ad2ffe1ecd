"""Arguments of the inference half of ``lrsql-eval`` (two-stage LR-SQL inference)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lrsql_plugin.prompts.layout import PROMPT_LAYOUTS, SLICE_FIRST, check_prompt_layout

ENGINES = ("hf", "openai", "vllm")
DTYPES = ("auto", "float32", "bfloat16", "float16")
LINKERS = ("model", "bm25")  # the schema-link model, or the lexical BM25 baseline (lrsql_plugin.context.ranking)


@dataclass
class InferenceArguments:
    base: str | None = field(
        default=None,
        metadata={"help": "Base model (path or name) the adapters were trained on (default: the adapters' record of it)."},
    )
    schema_link_adapter: str | None = field(
        default=None, metadata={"help": "LoRA adapter of the schema-link model.", "path": {}}
    )
    sql_adapter: str | None = field(default=None, metadata={"help": "LoRA adapter of the SQL-generation model.", "path": {}})
    template: str | None = field(
        default=None,
        metadata={"help": "LLaMA-Factory chat template used in training (the recipe's `template:`): read from the "
                  "adapters' training_args.yaml when there, required otherwise (a wrong one changes every prompt)."},
    )
    engine: str = field(
        default="hf",
        metadata={"help": "hf (transformers+peft), openai (an OpenAI-compatible server), vllm (in-process vLLM).",
                  "choices": ENGINES},
    )
    batch_size: int = field(
        default=16,
        metadata={"help": "hf engine: most prompts in one generate call; prompts are sorted by length (1 = sequential)."},
    )
    batch_tokens: int = field(
        default=0,
        metadata={"help": "hf engine: most padded tokens (prompt + new) per generate call; 0 = auto by device "
                  "(CPU 16384, GPU 131072)."},
    )
    chunk_size: int = field(
        default=256,
        metadata={"help": "Questions scheduled together; predictions are appended (and resumable) chunk by chunk."},
    )
    dtype: str = field(
        default="auto",
        metadata={"help": "hf/vllm engines: auto (checkpoint's), float32, bfloat16, float16.", "choices": DTYPES},
    )
    limit: int | None = field(default=None, metadata={"help": "Only the first N questions."})
    gold_tables: bool = field(default=False, metadata={"help": "Skip linking; SQL model on the gold tables (upper bound)."})
    tables_per_slice: int = field(
        default=5, metadata={"help": "Must equal the conversion's first slice size (0 = no table limit, tokens only)."}
    )
    tokens_per_slice: int | None = field(
        default=None, metadata={"help": "Must equal the training conversion's --tokens-per-slice."}
    )
    tokenizer: str | None = field(
        default=None, metadata={"help": "Must equal the conversion's --tokenizer (token budgets are measured with it)."}
    )
    sample_values: int = field(default=0, metadata={"help": "Must equal the training conversion's."})
    templates_dir: str | None = field(
        default=None, metadata={"help": "Must equal the training conversion's --templates-dir.", "path": {}}
    )
    descriptions: bool = field(default=True, metadata={"help": "BIRD column descriptions in the DDL; must equal the conversion's."})
    prompt_layout: str = field(
        default=SLICE_FIRST,
        metadata={"help": "Schema-link slice prompts: slice-first (schema, then question) or question-first; must equal "
                  "the conversion's (--dataset reads it; conversions made before layouts existed are question-first).",
                  "choices": PROMPT_LAYOUTS},
    )
    share_prefix: bool = field(
        default=True,
        metadata={"help": "hf engine: prefill a long token prefix shared by prompts of one wave once (slice-first "
                  "prompts share their slice's schema); answers are those without sharing."},
    )
    dataset: str | None = field(
        default=None,
        metadata={"help": "Conversion folder (lrsql-convert --out): slicing, rendering, tokenizer and pseudo-databases "
                  "come from its manifest.json, so the prompts are the training prompts.", "path": {}},
    )
    link_only: bool = field(
        default=False, metadata={"help": "Run stage 1 only and report linking metrics (no SQL adapter, no databases)."}
    )
    full_schema_link: bool = field(
        default=False,
        metadata={"help": "The schema-link adapter is the full-schema baseline: one prompt with the whole schema per question."},
    )
    linker: str = field(
        default="model",
        metadata={"help": "--link-only: model (the schema-link adapter) or bm25 (the top-K tables of a BM25 ranking, no model).",
                  "choices": LINKERS},
    )
    top_k: int = field(default=10, metadata={"help": "bm25 linker: tables linked per question (the top K of the ranking)."})
    link_max_new_tokens: int = field(default=64, metadata={"help": "Generation budget of a schema-link answer."})
    sql_max_new_tokens: int = field(default=256, metadata={"help": "Generation budget of an SQL answer."})
    api_base: str | None = field(
        default=None,
        metadata={"help": "openai engine: base URL (ending in /v1) serving both adapters, as models 'schema_link' "
                  "and 'sql_generation'."},
    )
    sql_api_base: str | None = field(
        default=None,
        metadata={"help": "openai engine: separate base URL for the SQL adapter (llamafactory-cli api serves one adapter)."},
    )
    concurrency: int = field(default=8, metadata={"help": "openai engine: concurrent requests."})
    resume: bool = field(
        default=False, metadata={"help": "Continue an interrupted run in the same output folder (--out) without redoing work."}
    )

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.batch_size < 1 or self.concurrency < 1 or self.chunk_size < 1:
            raise ValueError("batch_size, chunk_size and concurrency must be at least 1")
        if self.batch_tokens < 0:
            raise ValueError("batch_tokens must be 0 (auto) or positive")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be positive")
        if self.tables_per_slice < 0 or (self.tables_per_slice == 0 and not self.tokens_per_slice):
            raise ValueError("tables_per_slice must be positive (or 0 together with tokens_per_slice)")
        if self.link_only and self.gold_tables:
            raise ValueError("--link-only and --gold-tables exclude each other (gold tables skip linking)")
        check_prompt_layout(self.prompt_layout)
        if self.linker not in LINKERS:
            raise ValueError(f"linker must be one of {', '.join(LINKERS)}, got {self.linker!r}")
        if self.top_k < 1:
            raise ValueError("top_k must be at least 1")
        if self.linker == "bm25":
            if not self.link_only:
                raise ValueError("--linker bm25 ranks tables without a model; it runs with --link-only")
            if self.dataset or self.full_schema_link:
                raise ValueError("--linker bm25 ranks each question's own database: leave out --dataset and --full-schema-link")
            return  # no model, no engine settings to check
        if self.engine == "openai":
            if not self.api_base:
                raise ValueError("the openai engine needs --api-base")
        else:
            if not self.base:
                raise ValueError(f"the {self.engine} engine needs --base")
            if not self.sql_adapter and not self.link_only:
                raise ValueError("give --sql-adapter (the SQL-generation adapter), or --link-only")
            if not self.gold_tables and not self.schema_link_adapter:
                raise ValueError("give --schema-link-adapter, or --gold-tables for the upper bound")
