"""The tool contract: a business tool is a plain typed function plus metadata.

A tool function looks like this::

    @registry.tool(category="act", risk="high", action="hold",
                   exposure=ExposureArgs(amount="amount", currency="currency"),
                   subject=SubjectArg("customer_id", kind="customer"),
                   idempotent=True, preview=preview_refund, describe=describe_refund)
    def issue_refund(office: BackOffice, customer_id: str, order_id: str, amount: float,
                     currency: str, reason: str, idempotency_key: str) -> dict[str, Any]:
        \"\"\"Refund part or all of an order to the customer.\"\"\"

- The first parameter (named ``office``) is the injected data store; it is never part of the schema.
- ``idempotency_key`` is injected by the gateway (derived from the call id, never regenerated) for
  tools registered with ``idempotent=True``; it is never part of the schema either.
- Every other parameter becomes a property of the JSON input schema (pydantic builds it from the
  annotations, so ``Annotated[float, Field(gt=0, description=...)]`` works).
- Invalid input raises :class:`ToolInputError` before any effect.
- Return values are JSON-serialisable (dicts, lists, strings, numbers).

This module imports neither ``server`` nor ``web``: the gateway reads this metadata, not the reverse.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model, model_validator

from tools.errors import ToolInputError as ToolInputError  # re-exported: tools raise it from here
from tools.money import parse_money

Category = Literal["read", "prepare", "act"]
RiskLevel = Literal["low", "medium", "high", "critical"]
ActionName = Literal["allow", "hold", "block"]

INJECTED_PARAMS = frozenset({"office", "idempotency_key"})


@dataclass(frozen=True)
class ExposureArgs:
    """Which arguments carry the money at stake."""

    amount: str
    currency: str


@dataclass(frozen=True)
class SubjectArg:
    """Which argument names the customer or vendor a call touches."""

    arg: str
    kind: Literal["customer", "vendor", "contract", "record", "page"] = "customer"


@dataclass(frozen=True)
class Hints:
    """MCP tool annotations. Hints for clients; the policy, not these, decides."""

    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False


@dataclass(frozen=True)
class Preview:
    """What a reviewer needs to see beside a proposed call. Built by reading only, never acting."""

    summary: str
    # The current state of what the call would change, and the state it proposes (field -> value).
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    # Related records a reviewer weighs (the order, previous refunds, the full email...).
    context: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The preview as plain JSON-ready data (for storage, pages and approval packets)."""
        return asdict(self)


PreviewFn = Callable[[Any, dict[str, Any]], Preview]
DescribeFn = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    func: Callable[..., Any]
    description: str
    category: Category
    risk: RiskLevel
    action: ActionName
    input_model: type[BaseModel]
    exposure: ExposureArgs | None = None
    subject: SubjectArg | None = None
    idempotent: bool = False
    hints: Hints = Hints()
    preview: PreviewFn | None = None
    describe: DescribeFn | None = None
    # Minutes of human preparation the tool saves per call (used by the ROI insights).
    minutes_saved: float = 0.0

    @property
    def input_schema(self) -> dict[str, Any]:
        schema = self.input_model.model_json_schema()
        schema.pop("title", None)
        return schema

    def parse(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validate arguments against the signature; raise ToolInputError naming the first bad field."""
        try:
            model = self.input_model.model_validate(arguments)
        except ValidationError as exc:
            first = exc.errors()[0]
            cause = first.get("ctx", {}).get("error")
            if isinstance(cause, ToolInputError):  # a check of the model's own (money), already worded
                raise ToolInputError(cause.message, field=cause.field) from exc
            where = ".".join(str(p) for p in first["loc"]) or None
            raise ToolInputError(f"{where or 'arguments'}: {first['msg']}", field=where) from exc
        return model.model_dump()

    def call(self, office: Any, arguments: dict[str, Any], *, idempotency_key: str | None = None) -> Any:
        """Run the tool with already-validated arguments (the gateway's execute-once path)."""
        kwargs = self.parse(arguments)
        if self.idempotent:
            if not idempotency_key:
                raise ToolInputError("idempotency_key is required", field="idempotency_key")
            kwargs["idempotency_key"] = idempotency_key
        return self.func(office, **kwargs)

    def summarize(self, arguments: dict[str, Any]) -> str:
        """One line for queues and logs, e.g. "Refund 940.00 EUR to customer C-1001"."""
        if self.describe is not None:
            try:
                return self.describe(arguments)
            except (KeyError, TypeError, ValueError, ArithmeticError):
                pass  # fall back to the generic line for odd arguments (decimal errors are ArithmeticError)
        return f"{self.name}({', '.join(sorted(arguments))})"


F = TypeVar("F", bound=Callable[..., Any])


class ToolRegistry:
    """An ordered catalogue of tools."""

    def __init__(self) -> None:
        self._specs: dict[str, ToolSpec] = {}

    def tool(
        self,
        *,
        category: Category,
        risk: RiskLevel,
        action: ActionName,
        exposure: ExposureArgs | None = None,
        subject: SubjectArg | None = None,
        idempotent: bool = False,
        hints: Hints | None = None,
        preview: PreviewFn | None = None,
        describe: DescribeFn | None = None,
        minutes_saved: float = 0.0,
        name: str | None = None,
    ) -> Callable[[F], F]:
        def register(func: F) -> F:
            spec = ToolSpec(
                name=name or func.__name__,
                func=func,
                description=inspect.cleandoc(func.__doc__ or "").strip(),
                category=category,
                risk=risk,
                action=action,
                input_model=_input_model(func, exposure),
                exposure=exposure,
                subject=subject,
                idempotent=idempotent,
                hints=hints or Hints(read_only=category != "act", idempotent=idempotent or category != "act"),
                preview=preview,
                describe=describe,
                minutes_saved=minutes_saved,
            )
            self.add(spec)
            return func

        return register

    def add(self, spec: ToolSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"tool {spec.name!r} registered twice")
        if not spec.description:
            raise ValueError(f"tool {spec.name!r} needs a docstring: it is what the model reads")
        self._specs[spec.name] = spec

    def extend(self, specs: Iterable[ToolSpec]) -> None:
        """Add tools from another registry (or any iterable of specs), keeping their order."""
        for spec in specs:
            self.add(spec)

    def get(self, name: str) -> ToolSpec | None:
        return self._specs.get(name)

    def __getitem__(self, name: str) -> ToolSpec:
        return self._specs[name]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)


def _input_model(func: Callable[..., Any], exposure: ExposureArgs | None = None) -> type[BaseModel]:
    """Build a pydantic model of the function's parameters, less the injected ones.

    A tool that declares an exposure has its money checked here, once, for every caller: the amount
    as a decimal with the currency's places, the currency as a known code (tools.money). The checked
    values replace the given ones, so the policy, the reviewer and the tool all read the same number.
    """
    hints = get_type_hints(func, include_extras=True)
    fields: dict[str, Any] = {}
    for param in inspect.signature(func).parameters.values():
        if param.name in INJECTED_PARAMS:
            continue
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, default)
    config = ConfigDict(extra="forbid", strict=False, title=func.__name__)
    validators = {"money": _money_check(exposure)} if exposure is not None else None
    return create_model(f"{func.__name__}_input", __config__=config, __validators__=validators, **fields)


def _money_check(exposure: ExposureArgs) -> Any:
    def check(model: BaseModel) -> BaseModel:
        amount, code = parse_money(
            getattr(model, exposure.amount),
            getattr(model, exposure.currency),
            amount_field=exposure.amount,
            currency_field=exposure.currency,
        )
        # A JSON number again (canonical arguments are JSON), equal to the checked decimal: at most
        # two decimals below a billion round-trip through a float exactly.
        setattr(model, exposure.amount, float(amount))
        setattr(model, exposure.currency, code)
        return model

    return model_validator(mode="after")(check)
