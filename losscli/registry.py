"""The loss registry: one declaration per loss, read by the engine, the CLI and the docs.

A loss is a pure kernel (arrays in, per-row losses out) plus a :class:`LossSpec` that says
what it is called, which parameters it takes, which inputs it reads, which way is better,
how its per-row values are aggregated, its valid domain, and the reference it matches.
Adding a loss touches one kernel module; everything else picks it up from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from losscli.aggregate_base import KIND_MODULES, Aggregate, kind
from losscli.domain import Domain
from losscli.errors import UsageError, did_you_mean, suggest
from losscli.params import Param, ParamValue
from losscli.vocab import KERNEL_OPTIONS, TASKS


@dataclass(frozen=True)
class LossSpec:
    """Everything losscli knows about one loss."""

    name: str
    kernel: Callable[..., Any]
    summary: str
    formula: str
    reference: str
    task: str = "regression"
    aliases: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    inputs: tuple[str, ...] = ("pred", "target")
    higher_is_better: bool = False
    # Informational (a threshold, not a loss): no better direction (see vocab.DIRECTIONS).
    informational: bool = False
    # How per-row values become one number: the name of a kind of aggregate ("mean" by
    # default; losscli.aggregate_base.KIND_MODULES). Its class, :attr:`aggregate`, is
    # imported when first asked for (an instance built, the catalogue), not when the loss
    # is declared: a regression run imports no classification or per-query statistic.
    aggregate_kind: str = "mean"
    domain: tuple[Domain, ...] = ()
    # Options this loss implies (e.g. softmax_cross_entropy implies from_logits=True).
    implies: dict[str, Any] = field(default_factory=dict)
    # Tasks (see TASKS) the kernel handles; a loss on numbers fits regression and binary.
    tasks: tuple[str, ...] = ("regression", "binary")
    # Evaluation-wide options (see vocab.KERNEL_OPTIONS) the engine passes to the kernel by keyword.
    options: tuple[str, ...] = ()
    # What each input holds, for `losscli losses` (e.g. "pred: probability; target: 0/1").
    expects: str = ""
    # Arguments after `losscli eval` that run this loss on sample_data (catalog example).
    example: str = ""
    # Per-row values are 0/1 indicators (a proportion: Wilson's interval applies).
    indicator: bool = False
    # The domain when it depends on the parameters (the Tweedie deviance's power):
    # ``resolve_losses`` gives each instance the spec with ``domain=domain_of(params)``.
    domain_of: Callable[[dict[str, Any]], tuple[Domain, ...]] | None = None
    # Fields that depend on the parameters (mase with a season length reads no naive column
    # and keeps another aggregate): ``resolve_losses`` applies ``variant(params)``'s changes.
    variant: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # The kernel as a function of the residual ``d = pred - target`` alone (mse, mae,
    # huber...): ``of_residual(d, **kernel kwargs)`` gives the kernel's values bit for bit
    # and leaves ``d`` as it is, so the engine subtracts once per chunk for every such loss.
    of_residual: Callable[..., Any] | None = None

    @property
    def direction(self) -> str:
        """``lower``, ``higher`` or ``none`` (informational): :data:`vocab.DIRECTIONS`."""
        return "none" if self.informational else "higher" if self.higher_is_better else "lower"

    @property
    def aggregate(self) -> type[Aggregate]:
        """The aggregate class (:attr:`aggregate_kind`), its module imported on first use."""
        return kind(self.aggregate_kind)

    @property
    def per_row(self) -> bool:
        """True when the loss has a value per row (so sum and none reductions exist)."""
        return self.aggregate.per_row

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True)
class LossKey:
    """The identity of a loss instance: canonical name and the parameters that differ from
    their defaults, in declaration order. A parameter absent from a key means its default,
    so keys written before a parameter existed (or with every default spelled out) match.

    The one source of a loss instance's label (``huber(delta=0.5)``), JSON entry, baseline
    key and per-row column name (``huber_delta_0p5``).
    """

    name: str
    params: tuple[tuple[str, ParamValue], ...] = ()

    @classmethod
    def of(cls, spec: LossSpec, params: dict[str, Any]) -> LossKey:
        """The key of ``spec`` with ``params`` (effective values; defaults dropped)."""
        kept = []
        for p in spec.params:
            if p.name in params:
                value = _canonical(p, params[p.name])
                if value != p.default:
                    kept.append((p.name, value))
        return cls(spec.name, tuple(kept))

    @property
    def label(self) -> str:
        """``mse``, ``huber(delta=0.5)``: readable and unique among instances."""
        if not self.params:
            return self.name
        inner = ",".join(f"{k}={format_param(v)}" for k, v in self.params)
        return f"{self.name}({inner})"

    @property
    def column(self) -> str:
        """A plain identifier for per-row output (pandas, SQL and jq take it unquoted):
        ``huber_delta_0p5`` for huber(delta=0.5); ``.`` becomes ``p``, ``-`` ``m``."""
        parts = [self.name]
        for k, v in self.params:
            text = format_param(v).replace(".", "p").replace("-", "m").replace("+", "")
            parts.append(f"{k}_{re.sub(r'[^0-9A-Za-z_]+', '_', text)}")  # a cost matrix
        return "_".join(parts)


def _canonical(p: Param, value: Any) -> ParamValue:
    if value is None or p.type is str:
        return value  # type: ignore[no-any-return]
    if p.type is bool:
        return bool(value)
    if p.type is int:
        return int(value)
    return float(value)


def format_param(value: ParamValue) -> str:
    """A parameter value as labels and messages show it: ``0.5``, ``1``, ``true``, ``macro``,
    ``auto`` (None)."""
    if value is None:
        return "auto"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e16 else f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class LossInstance:
    """A selected loss with every parameter at its effective value."""

    spec: LossSpec
    params: dict[str, ParamValue]
    alias: str | None = None  # the name the user typed, when it was an alias
    # Effective evaluation-wide options (task, from_logits, threshold) after the loss's
    # ``implies``; the kernel receives those named in ``spec.options``.
    options: dict[str, Any] = field(default_factory=dict)

    def kernel_options(self) -> dict[str, Any]:
        return {name: self.options[name] for name in self.spec.options if name in self.options}

    def kernel_kwargs(self) -> dict[str, Any]:
        """What the kernel receives besides the arrays: the parameters (an "auto" one at the
        value the evaluation resolved it to) and the options it declares."""
        aggregate_only = {p.name for p in self.spec.params if not p.kernel}
        return {**{k: v for k, v in self.params.items()
                   if v is not None and k not in aggregate_only},
                **self.kernel_options()}

    def new_aggregate(self) -> Aggregate:
        """An empty aggregate for this instance (configured from its parameters/options)."""
        return self.spec.aggregate.create(self)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def key(self) -> LossKey:
        return LossKey.of(self.spec, self.params)

    @property
    def label(self) -> str:
        return self.key.label

    @property
    def column(self) -> str:
        return self.key.column

    @property
    def loss_arg(self) -> str:
        """The ``--loss`` argument that selects this instance again."""
        return loss_arg(self.key)


def direction_of(name: str, higher_is_better: bool) -> str:
    """The direction (:data:`vocab.DIRECTIONS`) of loss ``name`` (a registered name; an
    unknown one, e.g. from an older report, goes by ``higher_is_better``)."""
    _ensure_loaded()
    spec = _LOSSES.get(name)
    if spec is not None and spec.informational:
        return "none"
    return "higher" if higher_is_better else "lower"


def loss_arg(key: LossKey) -> str:
    """``huber:delta=0.5`` for the key of huber(delta=0.5); the name alone without params."""
    inner = ",".join(f"{k}={format_param(v)}" for k, v in key.params)
    return f"{key.name}:{inner}" if inner else key.name


def key_of_entry(name: Any, params: Any, where: str) -> LossKey:
    """The key of a loss written down elsewhere (a baseline's or a saved state's entry:
    a name and its parameters, any missing parameter at its default). Raises UsageError
    naming ``where`` for an unknown loss or parameter, or a value out of range."""
    if not isinstance(name, str):
        raise UsageError(f"{where}: the loss name must be a string, got {name!r}.")
    spec = get_loss(name)
    if not isinstance(params, dict):
        raise UsageError(f"{where}: the parameters of {spec.name} must be an object, got "
                         f"{params!r}.")
    unknown = sorted(set(params) - {p.name for p in spec.params})
    if unknown:
        raise UsageError(
            f"{where}: {spec.name} has no parameter {', '.join(repr(u) for u in unknown)}; it "
            f"takes: {', '.join(p.name for p in spec.params) or 'none'}."
        )
    values = {p.name: p.coerce(params[p.name], f"{where} ({spec.name})")
              for p in spec.params if p.name in params}
    return LossKey.of(spec, values)


_LABEL = re.compile(r"\s*([^()]+?)\s*\((.*)\)\s*")


def find_instance(text: str, instances: Sequence[Any], where: str) -> Any:
    """The one selected instance that ``text`` names: a label (``huber(delta=0.5)``, also
    the older labels that spelled out defaults), the ``--loss`` form (``huber:delta=0.5``),
    a per-row column name (``huber_delta_0p5``), or a canonical name or alias (``l1``) when
    one instance of that loss is selected. Unknown, unselected and ambiguous names are
    usage errors that say what would work. ``instances``: anything with a ``key`` (a
    :class:`LossKey`) and a ``name``: loss instances, report entries, baseline entries."""
    compact = text.replace(" ", "")
    labels = [inst.key.label for inst in instances]
    for inst in instances:
        if compact in (inst.key.label, inst.key.column):
            return inst
    m = _LABEL.fullmatch(text)
    arg = f"{m.group(1)}:{m.group(2)}" if m else text
    try:
        spec, inline, _ = parse_loss(arg)
    except UsageError as exc:
        hint = did_you_mean(compact, labels)
        raise UsageError(f"{where}: {exc}{hint if hint and hint not in str(exc) else ''}") from None
    wanted = {}
    for k, v in inline.items():
        p = spec.param(k)
        assert p is not None  # parse_loss checked the name
        wanted[k] = _canonical(p, p.coerce(v, where))
    # log_loss is the task's cross-entropy: bce, or cross_entropy on multi-class data
    names = {spec.name, "cross_entropy"} if arg.split(":")[0].strip().lower() == "log_loss" \
        else {spec.name}
    same_loss = [inst for inst in instances if inst.name in names]
    hits = [inst for inst in same_loss if all(
        dict(inst.key.params).get(k, spec.param(k).default) == v  # type: ignore[union-attr]
        for k, v in wanted.items())]
    if len(hits) > 1 and len(names) > 1:
        hits = [inst for inst in hits if inst.name == spec.name] or hits
    if len(hits) == 1:
        return hits[0]
    selected = ", ".join(labels) or "none"
    if not same_loss:
        raise UsageError(
            f"{where}: {spec.name} is not among the selected losses ({selected}); add "
            f"'--loss {arg}' or name one of those.{did_you_mean(compact, labels)}"
        )
    choices = ", ".join(inst.key.label for inst in same_loss)
    if not hits:
        raise UsageError(
            f"{where}: no selected {spec.name} has those parameters; the selected ones are: "
            f"{choices}."
        )
    raise UsageError(
        f"{where}: '{text}' matches several selected losses ({choices}); name one with its "
        f"parameters, e.g. '{loss_arg(hits[1].key)}'."
    )


_LOSSES: dict[str, LossSpec] = {}
_ALIASES: dict[str, str] = {}


def register(
    name: str, *, summary: str, formula: str, reference: str,
    aggregate: type[Aggregate] | str = "mean", **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator declaring a kernel as the loss ``name``. The kernel is returned unchanged.

    ``aggregate``: the kind of aggregate, by name (``"confusion"``: its module is imported
    when an instance is built) or as a class of :mod:`losscli.aggregates` already loaded."""

    def wrap(kernel: Callable[..., Any]) -> Callable[..., Any]:
        if isinstance(aggregate, str):
            kind_name = aggregate
        elif isinstance(aggregate, type) and issubclass(aggregate, Aggregate):
            kind_name = aggregate.name
            if kind(kind_name) is not aggregate:
                raise ValueError(f"{name}: aggregate {kind_name!r} is not registered")
        else:
            raise ValueError(f"{name}: aggregate must be a kind's name or an Aggregate class")
        if kind_name not in KIND_MODULES:
            raise ValueError(f"{name}: no aggregate kind {kind_name!r} (losscli.aggregate_base."
                             "KIND_MODULES names them)")
        spec = LossSpec(
            name=name, kernel=kernel, summary=summary, formula=formula, reference=reference,
            aggregate_kind=kind_name, **kwargs,
        )
        if not set(spec.tasks) <= set(TASKS) or not set(spec.options) <= set(KERNEL_OPTIONS):
            raise ValueError(f"{name}: unknown task or option in {spec.tasks}, {spec.options}")
        for word in (name, *spec.aliases):
            if word in _LOSSES or word in _ALIASES:
                raise ValueError(f"loss name {word!r} registered twice")
        _LOSSES[name] = spec
        for alias in spec.aliases:
            _ALIASES[alias] = name
        return kernel

    return wrap


def _ensure_loaded() -> None:
    import losscli.losses  # noqa: F401  (registers every loss)


def all_losses() -> dict[str, LossSpec]:
    """Every registered loss by canonical name, in registration order."""
    _ensure_loaded()
    return dict(_LOSSES)


def all_names() -> list[str]:
    """Canonical names and aliases, for completion and 'did you mean'."""
    _ensure_loaded()
    return [*_LOSSES, *_ALIASES]


def get_loss(name: str) -> LossSpec:
    """Look a loss up by canonical name or alias (case-insensitive)."""
    _ensure_loaded()
    key = name.strip().lower().replace("-", "_")
    if key in _LOSSES:
        return _LOSSES[key]
    if key in _ALIASES:
        return _LOSSES[_ALIASES[key]]
    raise UsageError(f"Unknown loss '{name}'.{suggest_losses(key)} Run 'losscli losses' to "
                     "list them.")


def suggest_losses(key: str) -> str:
    """`` Did you mean 'x'?`` for loss names plausibly meant (:func:`losscli.errors.suggest`)."""
    return suggest(key, all_names())


def parse_loss(text: str) -> tuple[LossSpec, dict[str, str], str | None]:
    """Parse ``name[:param=value[,param=value]]`` into (spec, raw inline params, alias)."""
    name, _, rest = text.partition(":")
    if not name.strip():
        raise UsageError(f"Empty loss name in '--loss {text}'. Write e.g. '--loss huber:delta=0.5'.")
    spec = get_loss(name)
    typed = name.strip().lower().replace("-", "_")
    alias = typed if typed != spec.name else None
    inline: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or not key or not value.strip():
            raise UsageError(
                f"Bad parameter '{item}' in '--loss {text}': write it as name=value, "
                f"e.g. '--loss {spec.name}:{spec.params[0].name if spec.params else 'param'}=1'."
            )
        if spec.param(key) is None:
            raise UsageError(_no_such_param(spec, key, f"'--loss {text}'"))
        inline[key] = value.strip()
    return spec, inline, alias


def _no_such_param(spec: LossSpec, key: str, where: str) -> str:
    names = [p.name for p in spec.params]
    takes = f"it takes: {', '.join(names)}" if names else "it takes no parameters"
    return f"Loss '{spec.name}' has no parameter '{key}' ({where}); {takes}.{did_you_mean(key, names)}"


def _ranks(spec: LossSpec) -> bool:
    """Whether the loss is a ranking metric (roc_auc, average_precision): --auc-bins."""
    return spec.aggregate_kind == "ranking"


def resolve_losses(
    loss_args: list[str] | tuple[str, ...], flag_params: dict[str, Any] | None = None
) -> list[LossInstance]:
    """Turn ``--loss`` arguments plus top-level parameter flags into loss instances.

    The inline form wins over a flag; a flag applies to every selected loss that takes it,
    and a flag that no selected loss takes is an error (a typo must not pass silently).
    """
    flag_params = {k: v for k, v in (flag_params or {}).items() if v is not None}
    parsed = [parse_loss(arg) for arg in loss_args]
    # --auc-bins: ``bins`` of the ranking metrics alone (--bins also sets ece's bins)
    auc_bins = flag_params.pop("auc_bins", None)
    if auc_bins is not None and not any(_ranks(spec) for spec, _, _ in parsed):
        takers = sorted(s.name for s in all_losses().values() if _ranks(s))
        raise UsageError(f"--auc-bins {auc_bins} is not a parameter of any selected loss "
                         f"({', '.join(spec.name for spec, _, _ in parsed)}). It applies to: "
                         f"{', '.join(takers)}.")
    for flag, value in flag_params.items():
        if not any(spec.param(flag) for spec, _, _ in parsed):
            takers = sorted(s.name for s in all_losses().values() if s.param(flag))
            selected = ", ".join(spec.name for spec, _, _ in parsed)
            hint = f" It applies to: {', '.join(takers)}." if takers else ""
            raise UsageError(
                f"--{flag.replace('_', '-')} {value} is not a parameter of any selected loss "
                f"({selected}).{hint}"
            )
    instances: list[LossInstance] = []
    for (spec, inline, alias), text in zip(parsed, loss_args):
        values: dict[str, ParamValue] = {}
        for p in spec.params:
            if p.name in inline:
                values[p.name] = p.coerce(inline[p.name], f"'--loss {text}'")
            elif p.name == "bins" and auc_bins is not None and _ranks(spec):
                values[p.name] = p.coerce(auc_bins, "--auc-bins")
            elif p.name in flag_params:
                values[p.name] = p.coerce(flag_params[p.name], f"--{p.name.replace('_', '-')}")
            else:
                values[p.name] = p.default
        if spec.domain_of is not None:  # this instance's rules, for its parameters
            spec = replace(spec, domain=spec.domain_of(values))
        if spec.variant is not None:
            spec = replace(spec, **spec.variant(values))
        instances.append(LossInstance(spec, values, alias))
    check_unique(instances, loss_args)
    return instances


def check_unique(instances: Sequence[LossInstance], loss_args: Sequence[str],
                 why: str = "") -> None:
    """Each loss instance asked for once: two ``--loss`` arguments (``loss_args``, as given)
    naming one instance are an error. ``why``: how they became one (an automatic parameter
    resolved from the data to the value the other names)."""
    seen: dict[LossKey, str] = {}
    for inst, text in zip(instances, loss_args):
        if inst.key in seen:
            raise UsageError(
                f"Loss '{text}' is the same as '{seen[inst.key]}' ({inst.label}){why}; "
                "ask for each loss instance once."
            )
        seen[inst.key] = text
