"""Personal-data masking (脱敏) for Chinese text: pure, no network, no model downloads."""

from handlers.privacy.masker import MaskResult, MaskStyle, Span, find_spans, mask, mask_text

__all__ = ["MaskResult", "MaskStyle", "Span", "find_spans", "mask", "mask_text"]
