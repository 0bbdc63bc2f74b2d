"""The fictional example county (云州市 青溪县), shipped with the package.

The sandbox starts from `directory.yaml`; `deputies.csv` shows a deputy list as an office
exports it. The top-level examples/ folder of the source tree holds the same files for
readers of the repository (tests keep the two identical).
"""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
DIRECTORY = EXAMPLES / "directory.yaml"
DEPUTIES_CSV = EXAMPLES / "deputies.csv"
