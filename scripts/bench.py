"""`make bench`: the benchmark lives in lcl_repro/bench/ (its docstring lists every measurement).

    python scripts/bench.py [overrides] [--steps N] [--quick] [--methods a,b] [--precision-methods a,b] [--name NAME]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lcl_repro.bench.__main__ import main  # noqa: E402

if __name__ == "__main__":
    main()
