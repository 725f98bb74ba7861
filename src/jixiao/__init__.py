"""jixiao (绩效): structured, validated records from Chinese fiscal performance forms."""

from .backends import get_backend
from .errors import (
    BackendUnavailable, ConfigError, ExtractionFailed, InputError, JixiaoError, SegmentationError,
)
from .ingest import ingest, ingest_text
from .pipeline import extract_document, extract_paths, extract_source, extract_text
from .schema import DocumentRecord, SelfEvaluation, TargetDeclaration
from .segment import segment

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable", "ConfigError", "DocumentRecord", "ExtractionFailed", "InputError", "JixiaoError",
    "SegmentationError", "SelfEvaluation", "TargetDeclaration", "extract_document", "extract_paths",
    "extract_source", "extract_text", "get_backend", "ingest", "ingest_text", "segment",
]
