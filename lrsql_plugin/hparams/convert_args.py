"""Arguments of ``lrsql-convert`` (the Python API takes the same dataclass)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lrsql_plugin.prompts.layout import PROMPT_LAYOUTS, SLICE_FIRST, check_prompt_layout

FORMATS = ("alpaca", "sharegpt")


@dataclass
class ConvertArguments:
    tables_per_slice: list[int] = field(
        default_factory=lambda: [5],
        metadata={"help": "Tables per schema slice; a comma list (e.g. 4,6) gives one slicing per size (augmentation); "
                  "0 = no table limit (tokens only)."},
    )
    tokens_per_slice: int | None = field(
        default=None, metadata={"help": "Token budget per slice (schema DDL tokens, measured with --tokenizer when given); "
                                "with or instead of the table limit; 0 = none. Tables wider than it are split into parts."}
    )
    orders: int = field(
        default=1, metadata={"help": "Table orders per slice size: order 0 is canonical, the others are seeded shuffles."}
    )
    seed: int = field(default=42, metadata={"help": "Seed for orders, noisy memories and distractors."})
    memory_noise: float = field(
        default=0.0,
        metadata={"help": "Probability of dropping / adding a table in each memory (0 = the paper's gold memories)."},
    )
    none_per_question: int | None = field(
        default=None,
        metadata={"help": "Keep at most this many None-answer schema-link samples per question, chosen with the seed; "
                  "every sample naming a table is kept (default: all, the paper's).", "min": 0},
    )
    model_config: str | None = field(
        default=None,
        metadata={"help": "A model's config.json, its folder, or a known architecture name: the report then plans "
                  "peak training memory (default: the tokenizer's folder when it holds a config.json)."},
    )
    sql_distractors: int = field(
        default=0, metadata={"help": "Non-gold tables added to each SQL-generation prompt (teaches ignoring false links)."}
    )
    sample_values: int = field(
        default=0, metadata={"help": "Distinct sample values shown per column (needs the .sqlite files)."}
    )
    descriptions: bool = field(default=True, metadata={"help": "Show table and column descriptions when the source has them."})
    max_description_tokens: int | None = field(
        default=32,
        metadata={"help": "Cut each description to about this many tokens in schema-link slices (SQL prompts show "
                  "the whole text; 0 = no cut).", "min": 0},
    )
    fold_families: bool = field(
        default=True,
        metadata={"help": "Fold tables with identical columns whose names differ only in a date or number suffix "
                  "(ga_sessions_20160801 ...) into one family entry."},
    )
    sql_answer_tokens: int = field(
        default=256,
        metadata={"help": "Room kept for the answer in an SQL prompt: SQL prompts are bounded by cutoff_len minus this.",
                  "min": 0},
    )
    prompt_layout: str = field(
        default=SLICE_FIRST,
        metadata={"help": "Schema-link slice prompts: slice-first (schema, then question: the prompts of one slice share "
                  "a prefix that inference prefills once) or question-first (the layout of earlier versions). "
                  "Full-schema baselines are always question-first.", "choices": PROMPT_LAYOUTS},
    )
    format: str = field(default="alpaca", metadata={"help": "LLaMA-Factory dataset format.", "choices": FORMATS})
    cutoff_len: int = field(
        default=2048, metadata={"help": "LLaMA-Factory cutoff_len; samples longer than this are reported."}
    )
    tokenizer: str | None = field(
        default=None, metadata={"help": "Tokenizer (path or name) for exact token counts; else an approximation."}
    )
    merge: int = field(
        default=0,
        metadata={
            "help": "Assign every database of the schema file to a pseudo-database of this many databases "
            "(seeded, independent of the questions converted; the source's held-out databases, Spider's dev.json ones, "
            "spread evenly); each question links inside its own one (0 = off)."
        },
    )
    merge_dbs: str | None = field(
        default=None,
        metadata={"help": "File of db_ids (one per line) merged into one pseudo-database; questions on other databases are skipped.",
                  "path": {"dir_okay": False}},
    )
    templates_dir: str | None = field(
        default=None, metadata={"help": "Folder of replacement Jinja templates.", "path": {"exists": True, "file_okay": False}}
    )
    limit: int | None = field(default=None, metadata={"help": "Convert only the first N questions."})
    prefix: str = field(default="lrsql", metadata={"help": "Prefix of the dataset names in dataset_info.json."})

    def __post_init__(self) -> None:
        if not self.tables_per_slice and not self.tokens_per_slice:
            raise ValueError("give tables_per_slice, tokens_per_slice, or both")
        if any(n < 1 for n in self.tables_per_slice):
            raise ValueError(f"tables_per_slice must be positive, got {self.tables_per_slice}")
        if self.tokens_per_slice is not None and self.tokens_per_slice < 1:
            raise ValueError("tokens_per_slice must be positive")
        if self.orders < 1:
            raise ValueError("orders must be at least 1")
        if not 0.0 <= self.memory_noise <= 1.0:
            raise ValueError("memory_noise is a probability in [0, 1]")
        if self.sql_distractors < 0 or self.sample_values < 0 or self.merge < 0:
            raise ValueError("sql_distractors, sample_values and merge must not be negative")
        if self.merge and self.merge_dbs:
            raise ValueError("give merge (pseudo-databases of N) or merge_dbs (one listed set), not both")
        if self.none_per_question is not None and self.none_per_question < 0:
            raise ValueError("none_per_question must not be negative")
        check_prompt_layout(self.prompt_layout)
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.cutoff_len < 1:
            raise ValueError("cutoff_len must be positive")
        if self.max_description_tokens == 0:
            self.max_description_tokens = None
        if self.max_description_tokens is not None and self.max_description_tokens < 0:
            raise ValueError("max_description_tokens must not be negative")
        if self.sql_answer_tokens < 0:
            raise ValueError("sql_answer_tokens must not be negative")
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be positive")

    @property
    def sql_prompt_tokens(self) -> int:
        """The most tokens an SQL prompt may take: cutoff_len minus the answer's room (at least half of cutoff_len)."""
        return max(self.cutoff_len - self.sql_answer_tokens, self.cutoff_len // 2)

    @property
    def slice_sizes(self) -> list[int | None]:
        """Table limits to slice with; ``[None]`` when only a token budget is set."""
        return list(self.tables_per_slice) or [None]
