"""Which loss terms a ``method`` config uses: the one statement of that rule.

The BAU terms (alignment, uniformity, domain) are computed on the weak and the strong views,
and ``strong_id_loss`` trains the strong views with the identity losses, so without the
strong view (``method.strong_view: false``, the baseline) none of them acts, whatever its own
switch says. The reference has no such switches (docs/reference.md §8, "ablations"); this is
the project's rule for them. The objective, the trainer's log and the ablation tables all ask
this module; it needs no torch, so the tables can import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Loss terms in the order they are logged; L = ce + tri + lam * align + uniform + domain,
#: ``ce`` being the identity loss (``method.id_loss``).
LOSS_TERMS = ("ce", "tri", "align", "uniform", "domain")

#: Each BAU loss term and the ``method`` switch that turns it on.
BAU_SWITCHES = {"align": "alignment", "uniform": "uniformity", "domain": "domain"}

#: The ``method`` switches that act only with the strong view.
STRONG_VIEW_SWITCHES = ("strong_id_loss", *BAU_SWITCHES.values())


def effective_switches(method: Mapping[str, Any]) -> dict[str, bool]:
    """Each switch of :data:`STRONG_VIEW_SWITCHES` as it acts: on when it is set and the strong
    view is on."""
    return {switch: bool(method[switch]) and bool(method["strong_view"]) for switch in STRONG_VIEW_SWITCHES}


def enabled_terms(method: Mapping[str, Any]) -> tuple[str, ...]:
    """The loss terms ``method`` switches on, in :data:`LOSS_TERMS` order; CE and triplet always."""
    switches = effective_switches(method)
    return ("ce", "tri") + tuple(term for term, switch in BAU_SWITCHES.items() if switches[switch])


def ignored_switches(method: Mapping[str, Any]) -> list[str]:
    """The switches set in ``method`` that have no effect because the strong view is off."""
    effective = effective_switches(method)
    return [switch for switch in STRONG_VIEW_SWITCHES if method[switch] and not effective[switch]]
