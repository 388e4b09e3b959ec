"""The tuning sampler: reproducible from its seed, and never replaying trials
when a study is resumed or shared by workers with the same seed."""

from typing import Any, Dict, List

import optuna

from scripts.tune import trial_seeded_sampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial: optuna.Trial) -> float:
    return trial.suggest_float("learn_rate", 1e-4, 1e-2, log=True) + \
        trial.suggest_categorical("width", [64, 96, 128, 192])


def sampled(storage: Any, name: str, seed: int, n_trials: int) -> List[Dict[str, Any]]:
    study = optuna.create_study(storage=storage, study_name=name, direction="maximize",
                                load_if_exists=True, sampler=trial_seeded_sampler(seed))
    study.optimize(objective, n_trials=n_trials)
    return [t.params for t in study.trials]


def test_the_same_seed_gives_the_same_search() -> None:
    assert sampled(None, "a", 0, 4) == sampled(None, "b", 0, 4)
    assert sampled(None, "c", 0, 4) != sampled(None, "d", 1, 4)


def test_a_resumed_study_continues_the_search_instead_of_replaying_it() -> None:
    storage = optuna.storages.InMemoryStorage()
    sampled(storage, "resumed", 0, 2)
    resumed = sampled(storage, "resumed", 0, 2)  # a new worker process, same seed
    assert resumed[2:] != resumed[:2]
    assert resumed == sampled(None, "uninterrupted", 0, 4)
