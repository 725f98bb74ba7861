"""Route: accepted, or queued for review, by a confidence threshold the user sets."""

from __future__ import annotations

from .schema import Form, Route

DEFAULT_THRESHOLD = 0.8


def route(form: Form, threshold: float = DEFAULT_THRESHOLD) -> Form:
    """The form with its `route`: needs_review when any field is below the threshold or a
    rule suspects the extraction; source inconsistencies alone are kept for the auditor."""
    reasons = [f"{path} confidence {c:.2f} < {threshold:.2f}"
               for path, c in form.field_confidence.items() if c < threshold]
    reasons += [f"{f.code}: extraction suspect in {', '.join(f.suspect_fields)}"
                for f in form.findings if f.triage == "extraction_suspect"]
    decision = "needs_review" if reasons else "accepted"
    form.route = Route(decision=decision, threshold=threshold, reasons=reasons)
    return form
