"""Hyperparameter search on Optuna (the `hparams_search=optuna` sweeper in hydra_plugins/, which
asks the study for trials and tells it their results), pruning trials from inside their runs, and
the learning-rate range test of `dlrun lr-find`. Optuna and torch are imported only where needed."""
