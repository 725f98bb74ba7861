"""Route: accepted, or queued for review, by a confidence threshold the user sets."""

from __future__ import annotations

from .schema import Form, Route

DEFAULT_THRESHOLD = 0.8


def route(form: Form, threshold: float = DEFAULT_THRESHOLD) -> Form:
    """The form with its `route`: needs_review when the reading of any field is less sure
    than the threshold, a rule suspects the extraction, a check failed, or the form could not
    be read. A form whose own printed numbers disagree is not re-read: its findings go to the
    auditor."""
    confidence = form.extraction_confidence or form.field_confidence
    reasons = [f"{path} confidence {c:.2f} < {threshold:.2f}" for path, c in confidence.items() if c < threshold]
    if form.error:
        reasons.insert(0, f"extraction failed: {form.error}")
    reasons += [f"{f.code}: extraction suspect in {', '.join(f.suspect_fields)}"
                for f in form.findings if f.triage == "extraction_suspect"]
    # A check that did not run (a rule, grounding, the confidence work) vouches for nothing.
    reasons += [f"{n.code}: {n.message}" for n in form.failed_checks()]
    reasons += [f"{f.code}: {f.message}" for f in form.findings if f.code == "INTERNAL"]
    decision = "needs_review" if reasons else "accepted"
    form.route = Route(decision=decision, threshold=threshold, reasons=reasons)
    return form
