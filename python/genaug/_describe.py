"""What a model's ``repr`` (terminals) and ``_repr_html_`` (notebooks) say: its parameters as
scikit-learn prints them, then (once fitted) the architecture, the training data, classes,
device and epochs."""

from __future__ import annotations

import html as _html
import inspect
from typing import Any

from genaug._checks import fitted_on_frame
from genaug.exceptions import NotFittedError


def _changed_params(model: Any) -> str:
    """``name=value`` for each parameter that differs from the constructor's default."""
    try:
        defaults = {
            name: p.default for name, p in inspect.signature(type(model)).parameters.items()
        }
    except (TypeError, ValueError):
        defaults = {}
    shown = []
    for name, value in model.get_params().items():
        default = defaults.get(name, inspect.Parameter.empty)
        if default is inspect.Parameter.empty or repr(value) != repr(default):
            shown.append(f"{name}={value!r}")
    return ", ".join(shown)


def _facts(model: Any) -> list[tuple[str, str]]:
    """(label, text) lines about the fitted model, or that it is not fitted."""
    if not model.is_fitted:
        return [("fitted", "no"), ("device", model.device)]
    try:
        rows = f"{model.fit_params_['rows']} rows"
    except NotFittedError:  # a first fit still running: its figures come when it returns
        rows = "rows"
    if fitted_on_frame(model):
        data = f"{rows} of a DataFrame with columns {', '.join(map(str, model.feature_names_in_))}"
    else:
        data = f"{rows} of shape {tuple(model.sample_shape_)}, {model.dtype_}"
    layers = " | ".join("-".join(str(w) for w in stack) for stack in model.layers_)
    facts = [
        ("fitted", f"{len(model.history)} epochs"),
        ("data", data),
        ("network", f"{model.arch_}, fully connected {layers}, latent {model.latent_dim}"),
        ("device", model.device),
    ]
    classes = model.classes_
    if classes is not None:
        listed = ", ".join(repr(c) for c in classes[:10])
        more = f", ... ({len(classes)} in all)" if len(classes) > 10 else ""
        facts.insert(2, ("classes", f"[{listed}{more}]"))
    return facts


def text(model: Any) -> str:
    """``VAE(latent_dim=8)`` as scikit-learn prints an estimator; a fitted model adds one
    indented line per fact (an unfitted one stays on one line, for nesting in pipelines)."""
    head = f"{type(model).__name__}({_changed_params(model)})"
    if not model.is_fitted:
        return head
    return "\n".join([head] + [f"  {label}: {value}" for label, value in _facts(model)])


def html(model: Any) -> str:
    """The same as :func:`text`, as a small HTML table."""
    head = _html.escape(f"{type(model).__name__}({_changed_params(model)})")
    rows = "".join(
        f"<tr><th style='text-align:left'>{_html.escape(label)}</th>"
        f"<td style='text-align:left'>{_html.escape(value)}</td></tr>"
        for label, value in _facts(model)
    )
    return f"<div><code>{head}</code><table>{rows}</table></div>"
