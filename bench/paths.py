"""Where the project and the generated report live."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
REPORT = PROJECT_DIR / "docs" / "benchmarks.md"
