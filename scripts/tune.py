"""Search training hyperparameters with Optuna, on train and dev only.

Reads: CONFIG (a generated training config), CORPUS_DIR/{train,dev}.spacy (never
test) and SPACE (configs/search_space.yml: which config settings to search and
over what ranges).
Writes: OUTPUT_DIR/trials.json, trials.md and trials.png (dev score against
trial), and OVERLAY (configs/optimize/tuned.cfg): the best trial's settings as a
config overlay, used by `weasel run all . --vars.optimize tuned`; and per trial,
OUTPUT_DIR/trials/trial-<number>/config.cfg and one run folder per training seed,
seed-<seed>/ (models, log, run.json).

How many trials this worker runs, for how long, from which sampler seed, with
which training budget per trial and on how many training seeds: --settings
(configs/tune.yml). A trial's score is the mean of its seeds' best dev scores
(CONFIG's seed and the next ones): one seed's score moves with the draw as much as
the settings do, and a search on one seed keeps its luckiest draw. The pruner
watches the first seed; a trial that outlives it trains the other seeds in full.
The study lives in --storage: an SQLite file by default; any database URL Optuna
supports (e.g. postgresql://user@host/db) lets workers on several machines run
trials of one study at once, each started with the same command. Each trial is a
run of the train step, as a child process, on the config with the sampled
settings; its dev score at every evaluation goes to Optuna's median pruner, which
stops unpromising trials early. Ctrl-C marks the running trial failed and leaves the study resumable; the
trial of a killed worker is marked failed by the next worker once its heartbeat
is stale. The sampler's random draws depend on the seed and the trial number, so
one worker's search is reproducible from its seed, while a resumed study or a
second worker with the same seed explores new settings instead of replaying
the first trials. The first trial of a new study trains CONFIG's own values of
the searched settings, so the table shows what the search gained over them.
With min_speed_ratio (configs/tune.yml), each trial's settings are first timed
against stock spaCy's efficiency NER pipeline or CONFIG's own (speed_reference),
and settings slower than the bound are pruned untrained.
"""

import json
import os
import random
import socket
import statistics
import time
import warnings
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import srsly
import typer
from confection import Config, ConfigValidationError
from wasabi import msg

from .lib.configs import check_not_hand_edited, chosen_on, read_budget, stock_config, write_generated
from .lib.errors import UserError, exit_on_user_error
from .lib.files import atomic_outputs
from .lib.run_record import read_run
from .lib.runs import train_run
from .lib.settings import Spec, read_settings
from .lib.tables import markdown_table
from .lib.timing import best_of_rounds_speeds

if TYPE_CHECKING:
    from spacy.language import Language

WORKER = f"{socket.gethostname()}-{os.getpid()}"
DISTRIBUTIONS = ("float", "int", "categorical")
# Random trials before TPE models the scores, unless the settings say otherwise.
STARTUP_TRIALS = 5
# What min_speed_ratio is a fraction of: stock spaCy's efficiency NER pipeline, or the config's own settings.
SPEED_REFERENCES = ("stock", "config")
REFERENCE_WORDS = {"stock": "`spacy init config`'s efficiency NER pipeline", "config": "the config's own settings"}
# The keys of the settings file, with their types and smallest values (or choices).
SETTINGS: Spec = {"trials": (int, 1), "timeout_seconds": (float, 0), "seed": (int, 0), "max_steps": (int, 1),
                  "seeds_per_trial": (int, 1), "min_speed_ratio": (float, 0),
                  "speed_reference": (str, SPEED_REFERENCES), "heartbeat_seconds": (int, 1),
                  "startup_trials": (int, 0), "warmup_evaluations": (int, 0)}
# How a trial's speed is timed: pipelines initialised on this many training docs, run one
# text at a time over dev texts of about this many words, for at least this many seconds
# a round, in this many rounds.
SPEED_INIT_DOCS = 200
SPEED_WORDS = 5000
SPEED_SECONDS = 1.0
SPEED_ROUNDS = 3
# Stored with a study: what makes its trials' scores comparable. Every worker must agree.
SCORING = "scoring"


def read_space(path: Path) -> Dict[str, Dict[str, Any]]:
    space = srsly.read_yaml(path) if path.is_file() else None
    if not isinstance(space, dict) or not space:
        raise UserError("expected a mapping of config paths to distributions", path)
    for key, spec in space.items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in DISTRIBUTIONS:
            raise UserError(f"{key}: type must be one of {', '.join(DISTRIBUTIONS)}", path)
        needed = ("choices",) if kind == "categorical" else ("low", "high")
        if any(name not in spec for name in needed):
            raise UserError(f"{key}: a {kind} distribution needs {' and '.join(needed)}", path)
    return space


def sample(trial: Any, space: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """Config overrides for one trial."""
    values: Dict[str, Any] = {}
    for key, spec in space.items():
        if spec["type"] == "float":
            values[key] = trial.suggest_float(key, spec["low"], spec["high"],
                                              log=spec.get("log", False))
        elif spec["type"] == "int":
            values[key] = trial.suggest_int(key, spec["low"], spec["high"], log=spec.get("log", False))
        else:  # Optuna stores only scalars: lists are sampled as their JSON text
            choices = [encode(c) for c in spec["choices"]]
            values[key] = decode(trial.suggest_categorical(key, choices))
    return values


def encode(value: Any) -> Any:
    """A value as Optuna stores it: lists as their JSON text."""
    return json.dumps(value) if isinstance(value, list) else value


def baseline_params(config_path: Path, space: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """CONFIG's values of the searched settings, as Optuna parameters. Raises
    UserError naming the first setting that is missing or outside the space."""
    from spacy.util import load_config

    config = load_config(config_path, interpolate=True)
    params: Dict[str, Any] = {}
    for key, spec in space.items():
        value: Any = config
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                raise UserError(f"{key} is not set in the config", config_path)
            value = value[part]
        if isinstance(value, dict):  # a block such as a learn-rate schedule
            settings = ", ".join(f"{key}.{name}" for name in value if not name.startswith("@"))
            raise UserError(f"{key} is a block in the config, not a value; search one of its "
                            f"settings instead ({settings})", config_path)
        if spec["type"] == "categorical":
            inside = value in spec["choices"]
        else:
            inside = isinstance(value, (int, float)) and not isinstance(value, bool) \
                and spec["low"] <= value <= spec["high"]
        if not inside:
            raise UserError(f"{key} = {value!r} is outside the search space", config_path)
        params[key] = encode(value)
    return params


def enqueue_baseline(study: Any, config_path: Path, space: Dict[str, Dict[str, Any]]) -> None:
    """Make the first trial of an empty study train the config's own settings."""
    if study.get_trials(deepcopy=False):
        return
    try:
        params = baseline_params(config_path, space)
    except UserError as err:
        msg.warn(f"No baseline trial: {err}")
        return
    # skip_if_exists: two workers starting on one empty study enqueue it once.
    study.enqueue_trial(params, user_attrs={"baseline": True}, skip_if_exists=True)


def decode(value: Any) -> Any:
    """A sampled value as the config wants it: list choices are stored as JSON text."""
    return json.loads(value) if isinstance(value, str) and value.startswith("[") else value


def write_trial_config(config_path: Path, overrides: Dict[str, Any], path: Path) -> int:
    """The run config with a trial's settings and budget, saved in the trial's
    folder so that any trial can be retrained; returns the config's seed."""
    try:
        config = Config().from_disk(config_path, interpolate=False, overrides=overrides)
    except ConfigValidationError as err:  # a searched setting the config does not have
        raise UserError(f"the search space does not fit the config: {err}", config_path) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    config.to_disk(path, interpolate=False)
    return int(config["system"]["seed"])


class SpeedCheck:
    """How fast a trial's settings run, one text at a time, against the reference:
    "stock" (`spacy init config`'s efficiency NER pipeline in CONFIG's language) or
    "config" (CONFIG's own settings). Both pipelines are initialised, not trained:
    speed is the architecture's (on LeNER-Br, initialised and trained models of one
    study's trials gave ratios within 0.08 of each other), so a trial too slow for
    the bound is pruned before it trains."""

    def __init__(self, config: Path, corpus_dir: Path, reference: str) -> None:
        from spacy.tokens import DocBin
        from spacy.util import load_config
        from spacy.vocab import Vocab

        own = load_config(config)
        self.reference = stock_config(own["nlp"]["lang"], "efficiency", read_budget(config)) \
            if reference == "stock" else own
        self.train_docs = list(islice(DocBin().from_disk(corpus_dir / "train.spacy").get_docs(Vocab()),
                                      SPEED_INIT_DOCS))
        self.texts: List[str] = []
        words = 0
        for doc in DocBin().from_disk(corpus_dir / "dev.spacy").get_docs(Vocab()):
            if words >= SPEED_WORDS:
                break
            self.texts.append(doc.text)
            words += len(doc)
        self._baseline: Optional["Language"] = None

    def initialised(self, config: Config) -> "Language":
        from spacy.training import Example
        from spacy.util import load_model_from_config

        nlp = load_model_from_config(config, auto_fill=True, validate=True)
        examples = [Example(nlp.make_doc(doc.text), doc) for doc in self.train_docs]
        nlp.initialize(lambda: examples)
        return nlp

    def ratio(self, trial_config: Path) -> float:
        """Words/second of trial_config's pipeline over the reference's, timed in turns."""
        from spacy.util import load_config

        if self._baseline is None:
            self._baseline = self.initialised(self.reference)
        speeds = best_of_rounds_speeds({"trial": self.initialised(load_config(trial_config)),
                                        "reference": self._baseline},
                                       self.texts, SPEED_SECONDS, SPEED_ROUNDS, modes=("single",))
        return speeds["trial"]["single"] / speeds["reference"]["single"]


def make_objective(config: Path, corpus_dir: Path, space: Dict[str, Dict[str, Any]],
                   budget: Dict[str, int], trials_dir: Path, gpu_id: int, seeds_per_trial: int,
                   min_speed_ratio: float, speed_reference: str):
    """Each trial trains its settings once per seed, each a run of the train step in
    trials_dir/trial-<number>/seed-<seed>/, and scores the mean of their best dev
    scores. The first seed's dev scores go to Optuna as it trains, and a pruned
    trial's run is stopped; the pruner compares them with other trials' first seeds.
    With min_speed_ratio, settings slower than that fraction of the speed_reference's
    are pruned before training. The first trial, CONFIG's own settings, always trains:
    against stock its ratio is recorded (with a warning when under the bound), against
    the config it is the reference."""
    import optuna

    speed = SpeedCheck(config, corpus_dir, speed_reference) if min_speed_ratio > 0 else None

    def objective(trial: "optuna.Trial") -> float:
        trial.set_user_attr("worker", WORKER)
        trial_dir = trials_dir / f"trial-{trial.number}"
        overrides = {**{f"training.{key}": value for key, value in budget.items()},
                     **sample(trial, space)}
        first_seed = write_trial_config(config, overrides, trial_dir / "config.cfg")
        seeds = list(range(first_seed, first_seed + seeds_per_trial))
        baseline = bool(trial.user_attrs.get("baseline"))
        if speed is not None and not (baseline and speed_reference == "config"):
            ratio = speed.ratio(trial_dir / "config.cfg")
            trial.set_user_attr("speed_ratio", round(ratio, 3))
            if ratio < min_speed_ratio:
                slow = (f"{ratio:.2f}× the {speed_reference} pipeline's speed one text at a time, "
                        f"under min_speed_ratio {min_speed_ratio}")
                if baseline:
                    msg.warn(f"The config's own settings run at {slow}; they train all the same, "
                             f"as the trial the others are compared with")
                else:
                    trial.set_user_attr("pruned_for", "speed")
                    raise optuna.TrialPruned(slow)

        def report(record: Dict[str, Any]) -> None:
            trial.report(record["score"], record["step"])
            if trial.should_prune():
                raise optuna.TrialPruned(f"dev score {record['score']:.3f} at step {record['step']}")

        scores: List[float] = []
        for seed in seeds:
            msg.divider(f"Trial {trial.number}, seed {seed} ({WORKER})")
            run_dir = trial_dir / f"seed-{seed}"
            train_run(trial_dir / "config.cfg", corpus_dir, run_dir, seed, gpu_id,
                      on_evaluation=report if seed == first_seed else None)
            scores.append(float(read_run(run_dir)["training"]["best_dev_score"]))
            trial.set_user_attr("dev_scores", dict(zip(map(str, seeds), scores)))
        return statistics.fmean(scores)

    return objective


def trial_seeded_sampler(seed: int, startup_trials: int = STARTUP_TRIALS):
    """A TPE sampler seeded from (seed, trial number) for each trial. Trial numbers
    are unique across workers and resumptions, so workers sharing one seed do not
    sample the same settings. TPE keeps no state but its random generator (it
    reads the history from the study), so a fresh TPESampler per trial, through
    Optuna's public sampler interface, is all it takes."""
    import optuna

    class TrialSeededSampler(optuna.samplers.BaseSampler):
        def __init__(self) -> None:
            self._tpe = self._make(seed)

        @staticmethod
        def _make(trial_seed: int) -> "optuna.samplers.TPESampler":
            return optuna.samplers.TPESampler(seed=trial_seed, n_startup_trials=startup_trials)

        def before_trial(self, study: Any, trial: Any) -> None:
            self._tpe = self._make((seed * 1_000_003 + trial.number) % 2**32)
            self._tpe.before_trial(study, trial)

        def infer_relative_search_space(self, study: Any, trial: Any) -> Dict[str, Any]:
            return self._tpe.infer_relative_search_space(study, trial)

        def sample_relative(self, study: Any, trial: Any, search_space: Dict[str, Any]) -> Dict[str, Any]:
            return self._tpe.sample_relative(study, trial, search_space)

        def sample_independent(self, study: Any, trial: Any, name: str, distribution: Any) -> Any:
            return self._tpe.sample_independent(study, trial, name, distribution)

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            self._tpe.after_trial(study, trial, state, values)

        def reseed_rng(self) -> None:
            self._tpe.reseed_rng()

    return TrialSeededSampler()


def open_study(storage: str, name: str, seed: int, heartbeat: int, startup_trials: int = STARTUP_TRIALS,
               warmup_steps: int = 0):
    import optuna
    import sqlalchemy.exc

    if storage.startswith("sqlite:///"):
        Path(storage[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # heartbeat
    # Workers started together on an empty database race to create Optuna's schema;
    # the loser gets a duplicate-object error, and a retry finds the schema in place.
    for attempt in range(6):
        try:
            rdb = optuna.storages.RDBStorage(
                storage, heartbeat_interval=heartbeat, grace_period=2 * heartbeat,
                engine_kwargs={"pool_pre_ping": True} if not storage.startswith("sqlite") else None)
            break
        except sqlalchemy.exc.SQLAlchemyError:  # IntegrityError/ProgrammingError from the race
            if attempt == 5:
                raise
            time.sleep(0.5 + random.random() * (attempt + 1))
    return optuna.create_study(
        storage=rdb, study_name=name, direction="maximize", load_if_exists=True,
        sampler=trial_seeded_sampler(seed, startup_trials),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=warmup_steps))


def check_scoring(study: Any, name: str, scoring: Dict[str, Any]) -> None:
    """Keep one study's trials comparable: the study stores how its trials are
    scored (budget, seeds and speed bound), and a worker that would score them otherwise stops
    once a trial has a score or is being scored (only failed trials: it starts afresh)."""
    import optuna

    stored = study.user_attrs.get(SCORING)
    changed = [f"{key} {stored.get(key)} in the study, {value} in this worker's settings"
               for key, value in sorted(scoring.items()) if stored is not None and stored.get(key) != value]
    scored = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                      optuna.trial.TrialState.PRUNED,
                                                      optuna.trial.TrialState.RUNNING))
    if changed and scored:
        raise UserError(f"study '{name}' scored its trials otherwise ({'; '.join(changed)}): "
                        f"run with the study's settings, or start a new study (the tune_study var)")
    if stored != scoring:
        study.set_user_attr(SCORING, scoring)


def trial_rows(study) -> List[Dict[str, Any]]:
    rows = []
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        duration = (trial.datetime_complete - trial.datetime_start).total_seconds() \
            if trial.datetime_complete and trial.datetime_start else None
        rows.append({"number": trial.number, "state": trial.state.name, "value": trial.value,
                     "params": {key: decode(v) for key, v in trial.params.items()},
                     "dev_scores": trial.user_attrs.get("dev_scores", {}),
                     "speed_ratio": trial.user_attrs.get("speed_ratio"),
                     "pruned_for": trial.user_attrs.get("pruned_for"),
                     "worker": trial.user_attrs.get("worker"), "seconds": duration,
                     "baseline": bool(trial.user_attrs.get("baseline"))})
    return rows


def overlay_text(params: Dict[str, Any]) -> str:
    """Dotted settings as config sections, e.g. [training.optimizer] learn_rate = 0.001.
    Floats keep every digit the trial trained with (not rounded for show): the same
    seed and budget over the overlay repeat the trial."""
    sections: Dict[str, List[str]] = {}
    for key, value in sorted(params.items()):
        section, name = key.rsplit(".", 1)
        sections.setdefault(section, []).append(f"{name} = {json.dumps(value)}")
    return "\n".join(f"[{section}]\n" + "\n".join(lines) + "\n" for section, lines in sections.items())


def plot(study: Any, path: Path) -> None:
    """Optuna's optimization-history plot (dev score of each completed trial and
    the best so far), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna

    with warnings.catch_warnings():  # the matplotlib backend is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        axis = optuna.visualization.matplotlib.plot_optimization_history(study, target_name="dev score")
    axis.figure.set_size_inches(8, 4)
    axis.figure.tight_layout()
    axis.figure.savefig(path, format="png", dpi=100)
    plt.close(axis.figure)


def trials_markdown(name: str, rows: List[Dict[str, Any]], best: Optional[Dict[str, Any]],
                    speed_reference: str) -> str:
    states = statistics_by_state(rows)
    table = markdown_table(
        ("trial", "state", "dev score", "by seed", f"speed vs {speed_reference}", "seconds", "worker", "settings"),
        [(f"{r['number']} (config)" if r.get("baseline") else r["number"],
          r["state"].lower() + (f" ({r['pruned_for']})" if r.get("pruned_for") else ""),
          "" if r["value"] is None else f"{100 * r['value']:.2f}",
          ", ".join(f"{100 * score:.2f}" for score in r.get("dev_scores", {}).values()),
          "" if r.get("speed_ratio") is None else f"{r['speed_ratio']:.2f}×",
          "" if r["seconds"] is None else f"{r['seconds']:.0f}", r["worker"] or "",
          "; ".join(f"{k.rsplit('.', 1)[-1]}={_short(v)}" for k, v in r["params"].items())) for r in rows])
    head = (f"# Study `{name}`\n\n{states}. A trial's dev score is the mean of its seeds' best; "
            f"a pruned trial's is its first seed's last. Speed: one text at a time, initialised pipelines, "
            f"against {REFERENCE_WORDS[speed_reference]}; a trial pruned for speed never trained.\n\n")
    if best:
        head += f"Best: trial {best['number']}, dev score {100 * best['value']:.2f}"
        if len(best.get("dev_scores", {})) > 1:
            head += f" (seeds {', '.join(best['dev_scores'])})"
        baseline = next((r for r in rows if r.get("baseline") and r["state"] == "COMPLETE"), None)
        if baseline:
            head += (f"; the config's own settings (trial {baseline['number']}) scored "
                     f"{100 * baseline['value']:.2f} ({100 * (best['value'] - baseline['value']):+.2f})")
        head += ".\n\n"
    return head + table


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def statistics_by_state(rows: List[Dict[str, Any]]) -> str:
    counts: Dict[str, int] = {}
    for row in rows:
        counts[row["state"].lower()] = counts.get(row["state"].lower(), 0) + 1
    return f"{len(rows)} trials: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


@exit_on_user_error
def main(
    # fmt: off
    config_path: Path = typer.Argument(..., help="Generated training config", exists=True, dir_okay=False),
    corpus_dir: Path = typer.Argument(..., help="Folder with train.spacy and dev.spacy"),
    space_path: Path = typer.Argument(..., help="Search space (YAML)"),
    output_dir: Path = typer.Argument(..., help="Folder for trials.json, trials.md, trials.png"),
    overlay: Path = typer.Argument(..., help="Where to write the best settings as an overlay"),
    storage: str = typer.Option(..., help="Optuna storage URL"),
    study: str = typer.Option(..., help="Study name (shared by all workers)"),
    settings_path: Path = typer.Option(..., "--settings", help="Trials, time limit, sampler seed, budget, seeds per trial, speed bound and pruning of this worker, e.g. configs/tune.yml"),
    gpu_id: int = typer.Option(..., help="GPU id, or -1 for CPU"),
    # fmt: on
) -> None:
    import optuna
    import sqlalchemy.exc

    for path in (corpus_dir / "train.spacy", corpus_dir / "dev.spacy"):
        if not path.is_file():
            raise UserError("corpus not found (run the 'preprocess' step first)", path)
    check_not_hand_edited(overlay)
    settings = read_settings(settings_path, SETTINGS)
    seed, n_trials, timeout = settings["seed"], settings["trials"], settings["timeout_seconds"]
    space = read_space(space_path)
    # Trials keep the run's evaluation rhythm (from its config) with their own length.
    eval_frequency = read_budget(config_path)["eval_frequency"]
    budget = {"max_steps": settings["max_steps"], "eval_frequency": eval_frequency, "max_epochs": 0}
    seeds_per_trial, min_speed_ratio = settings["seeds_per_trial"], settings["min_speed_ratio"]
    speed_reference = settings["speed_reference"]
    try:
        # Early dev scores favour fast learners, so the first evaluations never prune.
        study_ = open_study(storage, study, seed, settings["heartbeat_seconds"], settings["startup_trials"],
                            settings["warmup_evaluations"] * eval_frequency + 1)
    except (sqlalchemy.exc.SQLAlchemyError, ImportError) as err:  # bad URL, server down, no driver
        raise UserError(f"cannot open the study storage {storage!r}: {err}") from None
    optuna.storages.fail_stale_trials(study_)
    check_scoring(study_, study, {**budget, "seeds_per_trial": seeds_per_trial,
                                  "min_speed_ratio": min_speed_ratio, "speed_reference": speed_reference})
    enqueue_baseline(study_, config_path, space)
    objective = make_objective(config_path, corpus_dir, space, budget, output_dir / "trials", gpu_id,
                               seeds_per_trial, min_speed_ratio, speed_reference)
    try:
        study_.optimize(objective, n_trials=n_trials, timeout=timeout or None, gc_after_trial=True)
    except KeyboardInterrupt:
        # Optuna has marked the running trial failed; finished trials are stored.
        raise UserError(f"interrupted: the running trial is marked failed, the others are kept; "
                        f"run the same command to resume study '{study}'") from None
    rows = trial_rows(study_)
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    best = max(complete, key=lambda r: r["value"], default=None)
    outputs = [output_dir / name for name in ("trials.json", "trials.md", "trials.png")]
    with atomic_outputs(*outputs) as temps:
        srsly.write_json(temps[0], {"study": study, "storage": storage.split("@")[-1], "seed": seed,
                                    "space": space, "budget": budget, "seeds_per_trial": seeds_per_trial,
                                    "min_speed_ratio": min_speed_ratio, "speed_reference": speed_reference,
                                    "best": best, "trials": rows})
        temps[1].write_text(trials_markdown(study, rows, best, speed_reference), encoding="utf8")
        plot(study_, temps[2])
    if not best:
        raise UserError(f"no trial of study '{study}' completed; see {output_dir}/trials.md")
    write_generated(overlay, overlay_text(best["params"]),
                    f"tune.py: best of study '{study}' (trial {best['number']}, "
                    f"dev score {100 * best['value']:.2f}, {chosen_on([int(seed) for seed in best['dev_scores']])})")
    msg.good(f"Best dev score {100 * best['value']:.2f} (trial {best['number']}); settings in {overlay}")
    msg.good(f"{statistics_by_state(rows)}; table in {output_dir}/trials.md")


if __name__ == "__main__":
    typer.run(main)
