"""The span type every detector returns."""

from __future__ import annotations

from dataclasses import dataclass

TYPES = ("mobile", "landline", "id_card", "plate", "name", "address", "bank_card", "email")


@dataclass(frozen=True, order=True)
class Span:
    """A piece of personal data: code-point offsets into the original text, end exclusive."""

    start: int
    end: int
    type: str
