"""Configuration: one JSON schema (workflow/schemas/config.schema.yaml) for the workflow
configuration and for the configuration of a single training run.

The workflow configuration is partial by design: ``run`` holds settings shared by every
run, ``methods`` the overrides of each method, ``protocols`` the sources/targets/iterations.
:func:`resolve_run` merges these into the full configuration of one run, fills the schema's
defaults and validates it; its :func:`config_hash` is what makes the workflow retrain only
the runs whose resolved configuration changed.
"""

from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bau.errors import ConfigError
from bau.io import write_yaml
from bau.layout import (
    DEFAULT_RESULTS,
    RESERVED,
    SWEEP_SEPARATOR,
    EvalKey,
    Layout,
    RunDir,
    RunKey,
    sweep_method,
    value_folder,
)

SCHEMA_PATH = Path(__file__).with_name("schemas") / "config.schema.yaml"


@functools.cache
def load_schema() -> dict:
    with open(SCHEMA_PATH) as handle:
        return yaml.safe_load(handle)


def _subschema(name: str) -> dict:
    schema = load_schema()
    if name == "workflow":
        return schema
    return {"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]}


def _dotted(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _describe(error: jsonschema.ValidationError) -> str:
    where = _dotted(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        keys = ", ".join(f"'{_dotted([*error.absolute_path, k])}'" for k in unknown)
        return f"unknown key {keys}; allowed keys here: {', '.join(allowed)}"
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"key '{where}': {error.instance!r} is not allowed; allowed values: {allowed}"
    if error.validator == "required":
        return f"key '{where}': {error.message}"
    if error.validator == "type":
        hint = ""
        if isinstance(error.instance, str) and _looks_numeric(error.instance):
            # YAML 1.1 (PyYAML, Snakemake) reads an exponent without a dot, 1e-3, as text.
            hint = f" (YAML reads {error.instance} as text: write it with a dot, e.g. 1.0e-3)"
        return f"key '{where}': {error.instance!r} must be of type {error.validator_value}{hint}"
    if error.validator == "pattern":
        pattern = error.validator_value
        if "propertyNames" in error.schema_path:
            # propertyNames errors point at the mapping; the bad value is the name itself.
            return (
                f"key '{where}': name {error.instance!r} is not allowed; names must match {pattern} "
                "(letters, digits, _ and -, not starting with -)"
            )
        return f"key '{where}': {error.instance!r} does not match {pattern} (letters, digits, _ and -, not starting with -)"
    return f"key '{where}': {error.instance!r} is invalid: {error.message}"


def validate(instance: Any, kind: str = "workflow", source: str = "configuration") -> None:
    """Raise :class:`ConfigError` listing every violation (key, bad value, what is allowed).

    ``kind`` is ``"workflow"`` (the top level) or the name of a ``$defs`` entry (``"run"``).
    """
    validator = jsonschema.Draft202012Validator(_subschema(kind))
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
    problems = [_describe(e) for e in errors] or cross_field_problems(instance, kind)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(f"{source} is invalid:\n{lines}")


def fill_defaults(instance: dict, schema: dict | None = None) -> dict:
    """Return a copy of ``instance`` with every missing key that has a schema default filled in.

    Nested objects are created when any of their properties has a default; the entries of a
    map (``additionalProperties``: each protocol, table, ...) are filled too, except under a
    schema marked ``x-partial: true`` (``methods``: partial overrides of ``run``, where a
    filled default would win over the shared settings).
    """
    root = load_schema()
    schema = _subschema("run") if schema is None else schema
    return _fill(copy.deepcopy(instance), schema, root)


def _resolve(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _fill(instance: Any, schema: dict, root: dict) -> Any:
    schema = _resolve(schema, root)
    if not isinstance(instance, dict):
        return instance
    properties = schema.get("properties", {})
    entries = schema.get("additionalProperties")
    if isinstance(entries, dict) and not schema.get("x-partial"):
        for key in instance:
            if key not in properties:
                instance[key] = _fill(instance[key], entries, root)
    for key, sub in properties.items():
        if sub.get("x-partial"):  # a partial override (a sweep's `set`): filled where it is merged
            continue
        sub = _resolve(sub, root)
        if key not in instance:
            if "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            elif sub.get("type") == "object" and "properties" in sub:
                instance[key] = {}
        if key in instance:
            instance[key] = _fill(instance[key], sub, root)
    return instance


def deep_merge(base: Mapping, override: Mapping) -> dict:
    """Recursive dict merge; values of ``override`` win, lists are replaced, not merged."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_yaml_config(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist")
    try:
        with open(path) as handle:
            data = yaml.safe_load(handle) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of keys, not {type(data).__name__}")
    return data


def load_workflow_config(path: str | Path) -> dict:
    """Load and validate a workflow configuration (config/config.yaml)."""
    config = load_yaml_config(path)
    validate(config, "workflow", source=str(path))
    return fill_defaults(config, load_schema())


def validate_run(config: Mapping, source: str = "run configuration") -> dict:
    """Fill the defaults of a run configuration and validate it; returns the full config."""
    validate(config, "run", source=source)
    full = fill_defaults(dict(config))
    validate(full, "run", source=source)
    return full


def seeds_from_command_line(config: Mapping) -> dict:
    """``config`` with seeds given as text read as integers: `snakemake --config seeds=[1,2,3]`
    passes the list's items as text ('1'), which the schema would refuse."""

    def ints(seeds: Any) -> Any:
        if isinstance(seeds, list) and all(isinstance(s, str) and s.strip().isdigit() for s in seeds):
            return [int(s) for s in seeds]
        return seeds

    config = dict(config)
    if "seeds" in config:
        config["seeds"] = ints(config["seeds"])
    if isinstance(config.get("protocols"), Mapping):
        config["protocols"] = {
            name: {**spec, "seeds": ints(spec["seeds"])} if isinstance(spec, Mapping) and "seeds" in spec else spec
            for name, spec in config["protocols"].items()
        }
    return config


def protocol_seeds(workflow: Mapping, protocol: str) -> list[int]:
    """The training seeds of ``protocol``: its own ``seeds``, else the top-level ``seeds``."""
    spec = workflow["protocols"][protocol]
    return list(spec.get("seeds") or workflow.get("seeds") or [1])


def resolve_run(workflow: Mapping, protocol: str, run: str, method: str, seed: int | str | None = None) -> dict:
    """The full, validated configuration of one training run of the workflow; ``seed`` (one of
    the protocol's ``seeds``) is the run's ``seed`` (None: the first of them)."""
    try:
        spec = workflow["protocols"][protocol]["runs"][run]
    except KeyError as err:
        raise ConfigError(f"config has no run 'protocols.{protocol}.runs.{run}'") from err
    if method not in workflow["methods"]:
        known = ", ".join(workflow["methods"])
        raise ConfigError(f"method '{method}' (protocols.{protocol}) is not under 'methods'; known: {known}")
    layout = Layout(workflow.get("results", DEFAULT_RESULTS))
    resources = workflow.get("resources", {})
    config = deep_merge(workflow.get("run", {}), workflow["methods"][method])
    protocol_part: dict[str, Any] = {
        "data": {
            "root": workflow["data"]["root"],
            "sources": list(spec["sources"]),
            "targets": list(spec["targets"]),
            "split_seed": workflow.get("split_seed", 1),
            "splits_dir": layout.splits_dir(),
        },
        "train": {"gpus": resources.get("gpus_per_run", 0)},
    }
    if "iters" in spec:
        protocol_part["train"]["iters"] = spec["iters"]
    protocol_part["seed"] = int(protocol_seeds(workflow, protocol)[0] if seed is None else seed)
    config = deep_merge(config, protocol_part)
    return validate_run(config, source=f"run {protocol}/{run}/{method}/seed{protocol_part['seed']}")


def trained_runs(workflow: Mapping, digest: Callable[[RunKey], str] | None = None) -> dict[RunKey, RunKey]:
    """Each run of the workflow's protocols -> the run that trains it: the first run, in
    configuration order, whose resolved configuration is the same.

    Two protocols may ask for the same training (the default configuration's loss ablation
    reuses Protocol-2's BAU and baseline runs on CUHK03): it runs once, in the first one's
    folder, and is evaluated there; the others read its results. Sources, targets, method and
    seed are all part of the resolved configuration, so only truly equal runs are shared.
    ``digest``: a run's configuration hash (default: resolve it here; bau.plan.Plan passes
    its cached one).
    """
    if digest is None:

        def digest(key: RunKey) -> str:
            return config_hash(resolve_run(workflow, key.protocol, key.run, key.method, key.seed))

    first: dict[str, RunKey] = {}
    mapping: dict[RunKey, RunKey] = {}
    for protocol, spec in workflow["protocols"].items():
        for run in spec["runs"]:
            for method in spec["methods"]:
                for seed in protocol_seeds(workflow, protocol):
                    key = RunKey(protocol, run, method, str(seed))
                    mapping[key] = first.setdefault(digest(key), key)
    return mapping


def evaluated_as(trained: Mapping[RunKey, RunKey], workflow: Mapping, evaluation: EvalKey) -> EvalKey:
    """The evaluation that holds ``evaluation``'s results: the same target of the run that
    trains its run (:func:`trained_runs`)."""
    for run, spec in workflow["protocols"][evaluation.protocol]["runs"].items():
        if evaluation.target in spec["targets"]:
            owner = trained[RunKey(evaluation.protocol, run, evaluation.method, evaluation.seed)]
            return EvalKey(owner.protocol, evaluation.target, owner.method, owner.seed)
    raise ConfigError(f"protocols.{evaluation.protocol} has no run with target '{evaluation.target}'")


# ----------------------------------------------------------------------------- sweeps

#: Run keys a sweep may not vary: the workflow sets them (seeds, protocol data, devices).
SWEEP_FIXED = ("seed", "data", "train.gpus")


def get_dotted(config: Mapping, key: str) -> Any:
    """``config["a"]["b"]`` for ``key`` ``a.b`` (KeyError when a part is missing)."""
    value: Any = config
    for part in key.split("."):
        value = value[part]
    return value


def with_dotted(config: Mapping, key: str, value: Any) -> dict:
    """A copy of ``config`` with ``key`` (``a.b``) set to ``value``."""
    *parents, leaf = key.split(".")
    override: dict[str, Any] = {leaf: value}
    for part in reversed(parents):
        override = {part: override}
    return deep_merge(config, override)


def run_parameter_problem(parameter: str) -> str | None:
    """Why ``parameter`` is not a key a sweep may vary (None: it is one): it must name a
    single setting (not a section) of the run configuration, outside :data:`SWEEP_FIXED`."""
    root = load_schema()
    schema = _resolve(root["$defs"]["run"], root)
    for depth, part in enumerate(parameter.split(".")):
        properties = schema.get("properties", {})
        if part not in properties:
            where = ".".join(parameter.split(".")[:depth]) or "the run configuration"
            return f"'{parameter}' is not a key of the run configuration ({where} has: {', '.join(properties)})"
        schema = _resolve(properties[part], root)
    if schema.get("type") == "object":
        return f"'{parameter}' is a section of the run configuration; name one of its keys"
    if schema.get("type") == "array":
        return f"'{parameter}' holds a list; a sweep varies one number, switch or name"
    if any(parameter == fixed or parameter.startswith(fixed + ".") for fixed in SWEEP_FIXED):
        return f"'{parameter}' is set by the workflow (seeds, protocols, resources), not by a sweep"
    return None


def resolve_sweep_run(workflow: Mapping, sweep: str, value: Any, seed: int | str | None = None) -> dict:
    """The full, validated configuration of one value of a sweep: the base method's run of
    the sweep's protocol and run, with the sweep's `set` overrides and ``parameter = value``."""
    spec = workflow["sweeps"][sweep]
    return _sweep_variant(workflow, sweep, with_dotted(spec.get("set") or {}, spec["parameter"], value), seed)


def resolve_named_run(workflow: Mapping, protocol: str, run: str, method: str, seed: int | str | None = None) -> dict:
    """:func:`resolve_run`, or for a sweep's method folder (``bau_k+k-5``,
    bau.layout.sweep_method) :func:`resolve_sweep_run` of that value."""
    if SWEEP_SEPARATOR not in method:
        return resolve_run(workflow, protocol, run, method, seed)
    sweep = method.split(SWEEP_SEPARATOR, 1)[0]
    spec = workflow.get("sweeps", {}).get(sweep)
    values = [v for v in (spec or {}).get("values", []) if sweep_method(sweep, spec["parameter"], v) == method]
    if not values or (spec["protocol"], spec["run"]) != (protocol, run):
        raise ConfigError(f"'{protocol}/{run}/{method}' is not a run of a sweep under 'sweeps'")
    return resolve_sweep_run(workflow, sweep, values[0], seed)


def sweep_default(workflow: Mapping, sweep: str) -> Any:
    """The swept parameter's value in the sweep's base run (its method with its `set`)."""
    spec = workflow["sweeps"][sweep]
    return get_dotted(_sweep_variant(workflow, sweep, spec.get("set") or {}), spec["parameter"])


def _sweep_variant(workflow: Mapping, sweep: str, overrides: Mapping, seed: int | str | None = None) -> dict:
    spec = workflow["sweeps"][sweep]
    method = deep_merge(workflow["methods"][spec["method"]], overrides)
    variant = {**workflow, "methods": {**workflow["methods"], spec["method"]: method}}
    return resolve_run(variant, spec["protocol"], spec["run"], spec["method"], seed)


def config_hash(config: Mapping) -> str:
    """A short, stable fingerprint of a resolved configuration."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def write_run_config(path: str | Path, config: Mapping) -> str:
    """Write a run's resolved configuration as its run folder's config.yaml; returns what it did.

    A run folder holds one configuration: when ``path`` is missing or holds another one, the
    training outputs of an earlier run in the folder (checkpoints, final.json, logs) are stale
    and removed, so that `bau train` starts from scratch instead of refusing to resume a run of
    another configuration. The same configuration keeps them: an interrupted run resumes.
    (The workflow reruns this step only when the run's configuration or data changed, and
    Snakemake removes the old config.yaml first, so there the folder always starts over.)
    """
    path = Path(path)
    if path.is_file() and load_yaml_config(path) == dict(config):
        return f"{path} holds this configuration already (config hash {config_hash(config)}); kept the run"
    removed = []
    for stale in RunDir(path.parent).training_outputs():
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
        else:
            continue
        removed.append(stale.name)
    write_yaml(path, config)
    note = f"removed the earlier run's {', '.join(removed)}; " if removed else ""
    return f"{note}wrote {path} (config hash {config_hash(config)})"


# ---------------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a workflow configuration (config/*.yaml) or a run configuration")
    parser.add_argument("--run", action="store_true", help="the file is a run configuration (bau train)")
    parser.add_argument(
        "--resolve",
        metavar="PROTOCOL/RUN/METHOD[/SEED]",
        help="print the full configuration of one run of the workflow configuration (SEED: one of its "
        "seeds, default the first; METHOD may be a sweep's run folder, e.g. bau_k+k-5)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="with --resolve: write the run's configuration to this file (a run folder's config.yaml); "
        "the folder's earlier training outputs are removed when the configuration changed",
    )


def main(args: argparse.Namespace) -> int:
    if args.run:
        resolved = validate_run(load_yaml_config(args.file), source=args.file)
    else:
        resolved = load_workflow_config(args.file)
        if args.resolve:
            parts = args.resolve.split("/")
            if len(parts) not in (3, 4):
                raise ConfigError(f"--resolve takes PROTOCOL/RUN/METHOD[/SEED], got '{args.resolve}'")
            resolved = resolve_named_run(resolved, *parts)
    if args.out is not None:
        if not args.resolve:
            raise ConfigError("--out goes with --resolve PROTOCOL/RUN/METHOD")
        print(write_run_config(args.out, resolved))
        return 0
    print(yaml.safe_dump(resolved, sort_keys=False), end="")
    return 0


# ------------------------------------------------------------------- cross-field rules

#: Patch size of the ViT-B/16 backbone (bau.models.vit.PATCH; not imported: no torch here).
_VIT_PATCH = 16


def cross_field_problems(instance: Any, kind: str = "workflow") -> list[str]:
    """The rules between keys that the schema cannot express, as messages (empty: none).

    :func:`validate` checks them once the schema holds, so that ``bau config``, ``bau train``
    and the workflow (which validates the whole configuration, every run resolved, before
    planning a job) refuse such a configuration instead of failing in a running job.
    """
    if kind == "run":
        return _run_problems(fill_defaults(instance))
    if kind == "workflow":
        return _workflow_problems(fill_defaults(instance, load_schema()))
    return []


def _run_problems(run: Mapping[str, Any]) -> list[str]:
    train, model = run["train"], run["model"]
    problems = []
    if train["batch_size"] % train["num_instances"]:
        problems.append(
            f"train.batch_size={train['batch_size']} must be a multiple of train.num_instances="
            f"{train['num_instances']} (batches are whole identities of num_instances images each)"
        )
    milestones = list(train["milestones"])
    if milestones != sorted(milestones):
        problems.append(f"train.milestones={milestones} must be increasing; sort them")
    if model["arch"] in ("vitbase", "vittiny") and (model["height"] % _VIT_PATCH or model["width"] % _VIT_PATCH):
        problems.append(
            f"model.height/width={model['height']}x{model['width']}: model.arch={model['arch']} needs multiples of {_VIT_PATCH}"
        )
    if run["method"].get("plain_augment") and run["method"]["strong_view"]:
        problems.append(
            "method.plain_augment augments the one view of the baseline; it needs method.strong_view: false "
            "(with the strong view, augment.prob already sets how the second view is augmented)"
        )
    if train["device"] == "cuda" and train["gpus"] == 0:
        problems.append(
            "train.device=cuda with train.gpus=0; set train.gpus to 1 or more, or train.device to auto or cpu"
        )
    return problems


def _workflow_problems(workflow: Mapping[str, Any]) -> list[str]:
    problems = [
        f"protocol '{name}' has the name of a results folder; rename it"
        for name in sorted(set(workflow["protocols"]) & RESERVED)
    ]
    methods = workflow["methods"]
    problems += _seed_problems(workflow)
    trained: dict[str, list[str]] = {}
    runs_failing: dict[str, list[str]] = {}  # message -> runs it applies to (said once)
    for protocol, spec in workflow["protocols"].items():
        trained[protocol] = list(spec["methods"])
        for method in trained[protocol]:
            if method not in methods:
                problems.append(
                    f"protocols.{protocol}.methods: '{method}' is not under 'methods'; known: {', '.join(methods)}"
                )
        seen: dict[str, str] = {}
        for run, run_spec in spec["runs"].items():
            for target in run_spec["targets"]:
                if target in seen:
                    problems.append(
                        f"protocols.{protocol}: target '{target}' is evaluated by runs "
                        f"'{seen[target]}' and '{run}'; each target needs one run"
                    )
                seen[target] = run
            for method in trained[protocol]:
                if method not in methods:
                    continue
                try:
                    resolve_run(workflow, protocol, run, method)
                except ConfigError as err:
                    for line in str(err).splitlines()[1:]:
                        runs_failing.setdefault(line.strip().removeprefix("- "), []).append(
                            f"{protocol}/{run}/{method}"
                        )
    for message, runs in runs_failing.items():
        problems.append(f"{message} (in run{'s' if len(runs) > 1 else ''} {', '.join(runs)})")
    problems += _sweep_problems(workflow, trained)
    for name, table in workflow.get("tables", {}).items():
        if table["protocol"] not in trained:
            problems.append(f"tables.{name}.protocol: '{table['protocol']}' is not under 'protocols'")
            continue
        for method in table["methods"]:
            if method not in trained[table["protocol"]]:
                problems.append(
                    f"tables.{name}: method '{method}' is not trained in protocols.{table['protocol']}.methods"
                )
    return problems


def _seed_problems(workflow: Mapping[str, Any]) -> list[str]:
    """Seeds are unique, and a run's `seed` set by hand is not silently replaced by them."""
    problems = []
    lists = {"seeds": workflow.get("seeds") or [1]}
    lists |= {f"protocols.{p}.seeds": s["seeds"] for p, s in workflow["protocols"].items() if s.get("seeds")}
    for key, seeds in lists.items():
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        if repeated:
            problems.append(f"{key}: seed {', '.join(map(str, repeated))} is listed twice; seeds must be unique")
    fixed = {"run.seed": (workflow.get("run") or {}).get("seed")}
    fixed |= {f"methods.{m}.seed": (o or {}).get("seed") for m, o in workflow["methods"].items()}
    used = {s for p in workflow["protocols"] for s in protocol_seeds(workflow, p)}
    for key, value in fixed.items():
        if value is not None and value not in used:
            problems.append(
                f"{key}={value} would be replaced by the configured seeds ({', '.join(map(str, sorted(used)))}): "
                f"each run's seed comes from `seeds`; set seeds: [{value}] instead of {key}"
            )
    return problems


def _sweep_problems(workflow: Mapping[str, Any], trained: Mapping[str, list[str]]) -> list[str]:
    """Each sweep names a known protocol, run, method and run-configuration key, and each of
    its values is valid there; each analysis names known sweeps."""
    problems = []
    sweeps = workflow.get("sweeps", {})
    for name, spec in sweeps.items():
        key = f"sweeps.{name}"
        protocol, run, method = spec["protocol"], spec["run"], spec["method"]
        if protocol not in trained:
            problems.append(f"{key}.protocol: '{protocol}' is not under 'protocols'; known: {', '.join(trained)}")
            continue
        runs = workflow["protocols"][protocol]["runs"]
        if run not in runs:
            problems.append(f"{key}.run: protocols.{protocol} has no run '{run}'; its runs: {', '.join(runs)}")
            continue
        if method not in workflow["methods"]:
            problems.append(f"{key}.method: '{method}' is not under 'methods'; known: {', '.join(workflow['methods'])}")
            continue
        if "target" in spec and spec["target"] not in runs[run]["targets"]:
            problems.append(
                f"{key}.target: '{spec['target']}' is not a target of protocols.{protocol}.runs.{run} "
                f"({', '.join(runs[run]['targets'])})"
            )
        if "value_labels" in spec and len(spec["value_labels"]) != len(spec["values"]):
            problems.append(
                f"{key}.value_labels: {len(spec['value_labels'])} label(s) for {len(spec['values'])} value(s); "
                "give one per value"
            )
        folders = [value_folder(v) for v in spec["values"]]
        repeated = sorted({f for f in folders if folders.count(f) > 1})
        if repeated:
            problems.append(f"{key}.values: {', '.join(repeated)} listed twice; values must be unique")
        for value in spec["values"]:
            if isinstance(value, str) and not _is_name(value):
                problems.append(
                    f"{key}.values: '{value}' becomes a folder name; text values must be letters, digits, _, - and ."
                )
        problem = run_parameter_problem(spec["parameter"])
        if problem:
            problems.append(f"{key}.parameter: {problem}")
            continue
        for value in spec["values"]:
            try:
                resolve_sweep_run(workflow, name, value)
            except ConfigError as err:
                details = "; ".join(line.strip().removeprefix("- ") for line in str(err).splitlines()[1:])
                problems.append(f"{key}.values: {spec['parameter']}={value!r} is refused: {details or err}")
    for name, analysis in workflow.get("analyses", {}).items():
        if name in trained:
            problems.append(f"analyses.{name}: the name of protocol '{name}' (both are Snakemake targets); rename it")
        for sweep in analysis["sweeps"]:
            if sweep not in sweeps:
                problems.append(f"analyses.{name}.sweeps: '{sweep}' is not under 'sweeps'; known: {', '.join(sweeps)}")
    return problems


def _is_name(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", text) is not None
