"""Display names used by tables and figures: datasets, methods, protocols, metrics, switches.

Names not listed here are shown as they are written in the configuration, so a new method
or dataset never breaks a table; add it here to give it a nicer label.
"""

from __future__ import annotations

import re

DATASET_LABELS: dict[str, str] = {
    "market1501": "Market-1501",
    "market1501dg": "Market-1501 (all)",
    "msmt17": "MSMT17",
    "msmt17dg": "MSMT17 (all)",
    "cuhk03": "CUHK03-NP",
    "cuhk03dg": "CUHK03-NP (all)",
    "cuhk02dg": "CUHK02",
    "cuhksysu": "CUHK-SYSU",
    "grid": "GRID",
    "ilids": "iLIDs",
    "prid": "PRID",
    "viper": "VIPeR",
}

# The paper's abbreviations (M+MS+CS->C3); a dataset's *dg variant has the same letters.
DATASET_ABBREVIATIONS: dict[str, str] = {
    "market1501": "M",
    "market1501dg": "M",
    "msmt17": "MS",
    "msmt17dg": "MS",
    "cuhk02dg": "C2",
    "cuhksysu": "CS",
    "cuhk03": "C3",
    "cuhk03dg": "C3",
    "grid": "GRID",
    "ilids": "iLIDs",
    "prid": "PRID",
    "viper": "VIPeR",
}

# Order of the abbreviations in a source list, as the paper writes them (M+MS+CS, MS+CS+C3).
_SOURCE_ORDER = ["M", "MS", "C2", "CS", "C3"]

# In this order methods get their colours in figures (BAU blue, Baseline orange, ...).
METHOD_LABELS: dict[str, str] = {
    "bau": "BAU",
    "baseline": "Baseline",
    "aug_ce": "+ Aug. (identity losses)",
    "align": "+ Align",
    "align_uniform": "+ Align + Uniform",
    "no_align": "BAU w/o align",
    "no_uniform": "BAU w/o uniform",
    "no_domain": "BAU w/o domain",
    "no_weighting": "BAU w/o weighting",
    "no_domain_specific": "BAU w/o domain-specific prototypes",
    "no_randaugment": "BAU w/o RandAugment",
    "no_colorjitter": "BAU w/o color jitter",
    "no_erasing": "BAU w/o random erasing",
    # Table 7: other backbones and identity losses, without and with BAU.
    "baseline_mobilenetv2": "Baseline (MobileNetV2)",
    "bau_mobilenetv2": "BAU (MobileNetV2)",
    "baseline_vitbase": "Baseline (ViT-B/16)",
    "bau_vitbase": "BAU (ViT-B/16)",
    "baseline_vittiny": "Baseline (ViT-Ti/16)",  # ViT-B/16's CPU stand-in (README: Table 7)
    "bau_vittiny": "BAU (ViT-Ti/16)",
    "baseline_arcface": "Baseline (ArcFace)",
    "bau_arcface": "BAU (ArcFace)",
    "baseline_pcl": "Baseline (PCL)",
    "bau_pcl": "BAU (PCL)",
    # Published results the paper compares against (reported.csv).
    "acl": "ACL (ECCV'22)",
    "renorm": "ReNorm (ECCV'24)",
}

# Metric keys of the metrics JSON summary -> column labels.
METRIC_LABELS: dict[str, str] = {"mAP": "mAP", "rank1": "R-1"}

# Ablation switches of a run configuration (section.key) -> column labels of ablation tables.
SWITCH_LABELS: dict[str, str] = {
    "method.strong_view": "Aug.",
    "method.strong_id_loss": "L_ce (aug.)",
    "method.alignment": "L_align",
    "method.uniformity": "L_uniform",
    "method.domain": "L_domain",
    "method.weighting": "Weighting",
    "method.domain_specific": "Domain-specific",
    "augment.randaugment": "RandAug.",
    "augment.colorjitter": "ColorJitter",
    "augment.erasing": "Erasing",
}

# Run-config keys that sweeps vary -> (axis label, short name); others are shown as written.
PARAMETER_LABELS: dict[str, tuple[str, str]] = {
    "augment.prob": ("augmentation probability p", "p"),
    "method.k": ("k (neighbours of the reliability weights)", "k"),
    "method.lam": ("λ (weight of the alignment loss)", "λ"),
    "method.domain": ("domain loss L_domain", "L_domain"),
    "method.weighting": ("reliability weighting", "weighting"),
    "method.margin": ("triplet margin", "margin"),
}

SELECTION_RULES: dict[str, str] = {
    "best_of_eval": (
        "best of the evaluation epochs by target-test mAP (the reference's rule, "
        "i.e. model selection on the target test set)"
    ),
    "last": "last epoch (no model selection on the test set)",
    "checkpoint": "a given checkpoint",
}


def dataset_label(name: str) -> str:
    return DATASET_LABELS.get(name, name)


def method_label(name: str) -> str:
    return METHOD_LABELS.get(name, name)


def protocol_label(name: str) -> str:
    """``protocol2`` -> ``Protocol-2``; other names unchanged."""
    match = re.fullmatch(r"protocol[-_]?(\d+)", name, flags=re.IGNORECASE)
    return f"Protocol-{match.group(1)}" if match else name


def sources_label(sources: list[str]) -> str:
    """``[market1501, msmt17, cuhksysu]`` -> ``M+MS+CS`` in the paper's order."""
    abbreviations = [DATASET_ABBREVIATIONS.get(s, s) for s in sources]
    rank = {a: i for i, a in enumerate(_SOURCE_ORDER)}
    return "+".join(sorted(abbreviations, key=lambda a: rank.get(a, len(rank))))


def transfer_label(sources: list[str], target: str) -> str:
    """The paper's column label of a held-out target: ``M+MS+CS→C3``."""
    return f"{sources_label(sources)}→{DATASET_ABBREVIATIONS.get(target, target)}"


def parameter_label(parameter: str, short: bool = False) -> str:
    """The axis label of a swept run-config key (``augment.prob`` -> ``augmentation probability p``),
    or its short name (``p``)."""
    long, brief = PARAMETER_LABELS.get(parameter, (parameter, parameter))
    return brief if short else long


def selection_text(selection: str) -> str:
    return SELECTION_RULES.get(selection, selection)
