"""Contract clauses: the preview sets the current wording beside the proposed one, word by word."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.engine import Connection, RowMapping

from tools.act import checks
from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.store import BackOffice
from tools.backoffice.views import as_data
from tools.contract import Preview, SubjectArg, ToolInputError, ToolRegistry
from tools.fields import ContractId, Reason
from tools.money import display
from tools.signals import Signal, refused

registry = ToolRegistry()

SENSITIVE_CLAUSES = frozenset({"liability-cap", "payment-terms", "termination", "data-protection", "indemnity"})
RISKY_TERMS = re.compile(
    r"\b(unlimited|uncapped|waive[sd]?|no liability|irrevocabl[ey]|perpetual|exclusive(ly)?|"
    r"automatic(ally)? renew\w*|sole discretion|without notice|indemnif\w*)\b",
    re.IGNORECASE,
)
NUMBER = re.compile(r"\d+(?:[.,]\d+)?%?")
HIGH_VALUE_CENTS = 25_000_00

ClauseId = Annotated[
    str, Field(min_length=1, max_length=60, description="Clause id from get_contract, e.g. liability-cap.")
]
NewText = Annotated[
    str, Field(min_length=10, max_length=5000, description="The clause's complete new wording (replaces all of it).")
]


@dataclass(frozen=True)
class ClausePlan:
    contract: RowMapping
    clause: RowMapping
    new_text: str
    reason: str


def plan_clause_change(
    conn: Connection,
    contract_id: object,
    clause_id: object,
    new_text: object,
    reason: object,
    *,
    lock: bool = False,
) -> ClausePlan:
    """Check a clause change; ToolInputError naming the field if it must not be made."""
    text = checks.text(new_text, "new_text", min_length=10, max_length=5000)
    why = checks.text(reason, "reason", min_length=3)
    contract = q.require(conn, t.contracts, contract_id, field="contract_id", for_update=lock)
    if contract["status"] == "terminated":
        raise ToolInputError(
            f"contract_id: contract {contract['id']} is terminated; its clauses can no longer change",
            field="contract_id",
        )
    clauses = {c["clause_id"]: c for c in q.clauses_of(conn, contract["id"])}
    clause = clauses.get(clause_id) if isinstance(clause_id, str) else None
    if clause is None:
        known = ", ".join(clauses) or "none"
        raise ToolInputError(
            f"clause_id: contract {contract['id']} has no clause {clause_id!r}; its clauses are {known}",
            field="clause_id",
        )
    if " ".join(text.split()) == " ".join(clause["text"].split()):
        raise ToolInputError("new_text: is the clause's current wording; nothing would change", field="new_text")
    return ClausePlan(contract, clause, text, why)


def clause_signals(conn: Connection, now: datetime, args: dict[str, Any]) -> list[Signal]:
    """What makes a clause change weighty: a sensitive clause, risky terms, changed figures, a big contract."""
    signals: list[Signal] = []
    try:
        plan = plan_clause_change(
            conn, args.get("contract_id"), args.get("clause_id"), args.get("new_text"), args.get("reason")
        )
    except ToolInputError as exc:
        return [refused(exc)]
    old, new = plan.clause["text"], plan.new_text
    if plan.clause["clause_id"] in SENSITIVE_CLAUSES:
        signals.append(Signal("sensitive_clause", 0.25, f"{plan.clause['heading']} is a commercially sensitive clause"))
    added = sorted(
        {m.group(0).lower() for m in RISKY_TERMS.finditer(new)} - {m.lower() for m in RISKY_TERMS.findall(old)}
    )
    if added:
        signals.append(Signal("risky_terms", 0.3, f"New wording adds {', '.join(added)}"))
    before, after = NUMBER.findall(old), NUMBER.findall(new)
    if sorted(before) != sorted(after):
        signals.append(
            Signal(
                "figures_change", 0.15, f"Figures change from {', '.join(before) or '-'} to {', '.join(after) or '-'}"
            )
        )
    if abs(len(new) - len(old)) > len(old) // 2:
        signals.append(
            Signal("length_change", 0.1, f"Wording grows or shrinks by more than half ({len(old)} -> {len(new)})")
        )
    value = plan.contract["annual_value_cents"]
    if value >= HIGH_VALUE_CENTS:
        signals.append(
            Signal(
                "high_value_contract", 0.1, f"High-value contract ({display(value, plan.contract['currency'])} a year)"
            )
        )
    return signals


def word_diff(old: str, new: str) -> list[dict[str, str]]:
    """The change as runs of kept, removed and added words: [{"op": "=", "-" or "+", "text"}]."""
    a, b = old.split(), new.split()
    out: list[dict[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append({"op": "=", "text": " ".join(a[i1:i2])})
            continue
        if i2 > i1:
            out.append({"op": "-", "text": " ".join(a[i1:i2])})
        if j2 > j1:
            out.append({"op": "+", "text": " ".join(b[j1:j2])})
    return out


def preview_clause_change(office: BackOffice, args: dict[str, Any]) -> Preview:
    """The clause's current text beside the proposed text, with a word-level diff and the contract."""
    with office.read() as conn:
        contract = q.one(conn, t.contracts, args.get("contract_id"))
        context: dict[str, Any] = {}
        before = None
        if contract is not None:
            context["contract"] = as_data(contract)
            clause = next(
                (c for c in q.clauses_of(conn, contract["id"]) if c["clause_id"] == args.get("clause_id")), None
            )
            if clause is not None:
                before = {"heading": clause["heading"], "text": clause["text"]}
                if isinstance(args.get("new_text"), str):
                    context["diff"] = word_diff(clause["text"], args["new_text"])
        warnings = [s.message for s in clause_signals(conn, office.now(), args)]
    after = {"heading": before["heading"] if before else None, "text": args.get("new_text")}
    summary = f"Change clause {args.get('clause_id')} of contract {args.get('contract_id')}"
    if contract is not None:
        summary += f" ({contract['title']})"
    return Preview(summary=summary, before=before, after=after, context=context, warnings=warnings)


def describe_clause_change(args: dict[str, Any]) -> str:
    return f"Change clause {args['clause_id']} of contract {args['contract_id']}"


@registry.tool(
    category="act",
    risk="high",
    action="hold",
    subject=SubjectArg("contract_id", "contract"),
    preview=preview_clause_change,
    describe=describe_clause_change,
    minutes_saved=20,
)
def change_contract_clause(
    office: BackOffice, contract_id: ContractId, clause_id: ClauseId, new_text: NewText, reason: Reason
) -> dict[str, Any]:
    """Replace the whole wording of one clause of a customer contract; the old wording is kept as a revision.

    Refused, with nothing changed, when the contract is terminated, the clause does not exist on it
    (get_contract lists clause ids), or the new wording equals the current one.
    Returns {"contract_id", "clause_id", "revision_id", "previous_text", "new_text"}.
    """
    with office.write() as conn:
        plan = plan_clause_change(conn, contract_id, clause_id, new_text, reason, lock=True)
        revision_id = q.new_id("REV")
        c = t.clauses.c
        conn.execute(
            t.clauses.update()
            .where(c.contract_id == plan.contract["id"], c.clause_id == plan.clause["clause_id"])
            .values(text=plan.new_text)
        )
        conn.execute(
            t.clause_revisions.insert().values(
                id=revision_id,
                contract_id=plan.contract["id"],
                clause_id=plan.clause["clause_id"],
                previous_text=plan.clause["text"],
                new_text=plan.new_text,
                reason=plan.reason,
                changed_at=office.now(),
            )
        )
    return {
        "contract_id": plan.contract["id"],
        "clause_id": plan.clause["clause_id"],
        "revision_id": revision_id,
        "previous_text": plan.clause["text"],
        "new_text": plan.new_text,
    }
