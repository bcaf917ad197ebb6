"""The loss registry: one declaration per loss, read by the engine, the CLI and the docs.

A loss is a pure kernel (arrays in, per-row losses out) plus a :class:`LossSpec` that says
what it is called, which parameters it takes, which inputs it reads, which way is better,
how its per-row values are aggregated, its valid domain, and the reference it matches.
Adding a loss touches one kernel module; everything else picks it up from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from losscli.errors import UsageError, did_you_mean
from losscli.vocab import KERNEL_OPTIONS, TASKS

ParamValue = float | int | bool

#: Aggregations a loss can declare. "mean" losses have per-row values and support every
#: reduction; the others are whole-data statistics that only have a "mean" reduction.
AGGREGATES = ("mean", "root_mean", "max", "r2")


@dataclass(frozen=True)
class Param:
    """One hyper-parameter of a loss, with its default and valid range."""

    name: str
    default: ParamValue
    doc: str
    type: type = float
    minimum: float | None = None  # inclusive
    exclusive_minimum: float | None = None
    maximum: float | None = None  # inclusive
    allow_negative_sentinel: bool = False  # e.g. focal alpha < 0 means "no weighting"
    tasks: tuple[str, ...] = ()  # tasks where it applies (empty: all); dropped elsewhere

    @property
    def range_text(self) -> str:
        parts = []
        if self.exclusive_minimum is not None:
            parts.append(f"> {self.exclusive_minimum:g}")
        if self.minimum is not None:
            parts.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        return " and ".join(parts)

    def coerce(self, raw: Any, where: str) -> ParamValue:
        """Convert a CLI/inline value to the parameter's type and check its range."""
        value: ParamValue
        if self.type is bool:
            if isinstance(raw, bool):
                value = raw
            elif str(raw).strip().lower() in ("true", "1", "yes"):
                value = True
            elif str(raw).strip().lower() in ("false", "0", "no"):
                value = False
            else:
                raise UsageError(
                    f"Parameter '{self.name}' of {where} must be true or false, got {raw!r}."
                )
            return value
        try:
            if self.type is int:
                as_float = float(raw)
                if as_float != int(as_float):
                    raise ValueError
                value = int(as_float)
            else:
                value = float(raw)
        except (TypeError, ValueError):
            kind = "an integer" if self.type is int else "a number"
            raise UsageError(
                f"Parameter '{self.name}' of {where} must be {kind}, got {raw!r}."
            ) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise UsageError(f"Parameter '{self.name}' of {where} must be finite, got {raw!r}.")
        if self.allow_negative_sentinel and value < 0:
            return value
        bad = (
            (self.minimum is not None and value < self.minimum)
            or (self.exclusive_minimum is not None and value <= self.exclusive_minimum)
            or (self.maximum is not None and value > self.maximum)
        )
        if bad:
            raise UsageError(
                f"Parameter '{self.name}' of {where} must be {self.range_text}, got {raw!r}."
            )
        return value


OPTIONS = KERNEL_OPTIONS


@dataclass
class CheckContext:
    """What a domain rule may depend on: the task, whether predictions are logits, the
    number of classes, and state kept across the chunks of one evaluation."""

    task: str = "regression"
    from_logits: bool = False
    classes: int | None = None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Domain:
    """A validity rule on one input: ``bad(array)`` marks the rows (or, for 2-D inputs,
    the entries) that break it; the engine names the first such row in an InputError.

    ``bad`` takes ``(array, ctx)`` when ``uses_context``; ``when(ctx)`` limits the rule to
    some evaluations (e.g. probabilities only without --from-logits). The message reads
    ``<loss> needs <noun> <requirement> in <column>, but row R has <value>. <hint>``;
    ``requirement`` may hold ``{classes}``, ``show`` formats the offending row.
    """

    role: str
    bad: Callable[..., Any]
    requirement: str  # e.g. "> -1", shown in the error
    noun: str = "values"
    hint: str = "Filter those rows, or choose a loss defined there."
    when: Callable[[CheckContext], bool] | None = None
    uses_context: bool = False
    show: Callable[[Any], str] | None = None

    def applies(self, ctx: CheckContext) -> bool:
        return self.when is None or bool(self.when(ctx))

    def mask(self, array: Any, ctx: CheckContext) -> Any:
        return self.bad(array, ctx) if self.uses_context else self.bad(array)


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
    aggregate: str = "mean"
    domain: tuple[Domain, ...] = ()
    # Options this loss implies (e.g. softmax_cross_entropy implies from_logits=True).
    implies: dict[str, Any] = field(default_factory=dict)
    # Tasks (see TASKS) the kernel handles; a loss on numbers fits regression and binary.
    tasks: tuple[str, ...] = ("regression", "binary")
    # Evaluation-wide options (see OPTIONS) the engine passes to the kernel by keyword.
    options: tuple[str, ...] = ()
    # What each input holds, for `losscli losses` (e.g. "pred: probability; target: 0/1").
    expects: str = ""
    # Arguments after `losscli eval` that run this loss on sample_data (catalog example).
    example: str = ""

    @property
    def per_row(self) -> bool:
        """True when the loss has a value per row (so sum and none reductions exist)."""
        return self.aggregate == "mean"

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


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

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        """Unique, readable column name: ``huber(delta=0.5)``, or ``mse`` without params."""
        if not self.params:
            return self.name
        inner = ",".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        return f"{self.name}({inner})"

    @property
    def key(self) -> tuple[str, tuple[tuple[str, ParamValue], ...]]:
        """Identity used to match a loss against a baseline: name and parameters."""
        return self.name, tuple(sorted(self.params.items()))


def _fmt(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e16 else f"{value:g}"
    return str(value)


_LOSSES: dict[str, LossSpec] = {}
_ALIASES: dict[str, str] = {}


def register(
    name: str, *, summary: str, formula: str, reference: str, **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator declaring a kernel as the loss ``name``. The kernel is returned unchanged."""

    def wrap(kernel: Callable[..., Any]) -> Callable[..., Any]:
        spec = LossSpec(
            name=name, kernel=kernel, summary=summary, formula=formula, reference=reference,
            **kwargs,
        )
        if spec.aggregate not in AGGREGATES:
            raise ValueError(f"{name}: unknown aggregate {spec.aggregate!r}")
        if not set(spec.tasks) <= set(TASKS) or not set(spec.options) <= set(OPTIONS):
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
    raise UsageError(
        f"Unknown loss '{name}'.{did_you_mean(key, all_names())} "
        "Run 'losscli losses' to list them."
    )


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


def resolve_losses(
    loss_args: list[str] | tuple[str, ...], flag_params: dict[str, Any] | None = None
) -> list[LossInstance]:
    """Turn ``--loss`` arguments plus top-level parameter flags into loss instances.

    The inline form wins over a flag; a flag applies to every selected loss that takes it,
    and a flag that no selected loss takes is an error (a typo must not pass silently).
    """
    flag_params = {k: v for k, v in (flag_params or {}).items() if v is not None}
    parsed = [parse_loss(arg) for arg in loss_args]
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
            elif p.name in flag_params:
                values[p.name] = p.coerce(flag_params[p.name], f"--{p.name.replace('_', '-')}")
            else:
                values[p.name] = p.default
        instances.append(LossInstance(spec, values, alias))
    seen: dict[str, str] = {}
    for inst, text in zip(instances, loss_args):
        if inst.label in seen:
            raise UsageError(
                f"Loss '{text}' is the same as '{seen[inst.label]}' ({inst.label}); "
                "ask for each loss instance once."
            )
        seen[inst.label] = text
    return instances
