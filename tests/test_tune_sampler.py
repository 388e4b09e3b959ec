"""The tuning study in process: its sampler is reproducible from its seed and never
replays trials when a study is resumed or shared by workers with the same seed, and
its workers all score trials alike."""

from typing import Any, Dict, List

import optuna
import pytest

from scripts.lib.errors import UserError
from scripts.tune import SCORING, check_scoring, trial_seeded_sampler

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


def test_a_worker_scoring_trials_otherwise_than_its_study_stops() -> None:
    storage = optuna.storages.InMemoryStorage()
    scoring = {"max_steps": 5000, "eval_frequency": 200, "max_epochs": 0, "seeds_per_trial": 3,
               "min_speed_ratio": 0.8, "speed_reference": "stock"}
    study = optuna.create_study(storage=storage, study_name="s")
    check_scoring(study, "s", scoring)
    study.optimize(lambda trial: 1 / 0, n_trials=1, catch=(ZeroDivisionError,))
    # Failed trials have no score to compare with: a worker may start the study afresh.
    fresh = {**scoring, "seeds_per_trial": 1}
    check_scoring(optuna.load_study(storage=storage, study_name="s"), "s", fresh)
    study.optimize(lambda trial: 0.5, n_trials=1)
    again = optuna.load_study(storage=storage, study_name="s")
    check_scoring(again, "s", dict(fresh))  # the same settings resume it
    with pytest.raises(UserError, match=r"study 's' scored its trials otherwise \(max_steps 5000 in the study, "
                                        r"2000 in this worker's settings; seeds_per_trial 1 in the study, 3 in"):
        check_scoring(again, "s", {**scoring, "max_steps": 2000})
    with pytest.raises(UserError, match=r"speed_reference stock in the study, config in this worker's settings"):
        check_scoring(again, "s", {**fresh, "speed_reference": "config"})
    assert optuna.load_study(storage=storage, study_name="s").user_attrs[SCORING] == fresh
