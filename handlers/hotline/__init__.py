"""12345 hotline work-order import: header aliases, mapping, row checks, masking.

See docs/hotline.md.
"""

from handlers.hotline.importer import (
    HotlineImportError,
    HotlineReport,
    Prepared,
    load_regions,
    prepare,
    write,
)
from handlers.hotline.mapping import Mapping, MappingError, load_mapping
from handlers.hotline.masking import masked
from handlers.hotline.rows import RowError
from handlers.hotline.sources import SourceError

__all__ = [
    "HotlineImportError",
    "HotlineReport",
    "Mapping",
    "MappingError",
    "Prepared",
    "RowError",
    "SourceError",
    "load_mapping",
    "load_regions",
    "masked",
    "prepare",
    "write",
]
