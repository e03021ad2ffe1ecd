"""Training with stock ``llamafactory-cli``: locate recipes, override a few keys, validate, launch."""

from lrsql_plugin.training.recipe import (
    RecipeError,
    load_recipe,
    recipe_path,
    run_training,
    train_command,
    validate_recipe,
    write_recipe,
)

__all__ = [
    "RecipeError",
    "load_recipe",
    "recipe_path",
    "run_training",
    "train_command",
    "validate_recipe",
    "write_recipe",
]
