"""Re-train the shipped check-worthiness weights (tidings/data/checkworthy.npz) on a CheckThat!-format folder.

    python scripts/train_checkworthy.py ../shared/eval-data/checkthat2019-train
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tidings.check.checkworthy import Model, read_folder, train  # noqa: E402


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    debates = read_folder(sys.argv[1])
    rows = [r for rs in debates.values() for r in rs]
    model = Model(*train([r.text for r in rows], [r.label for r in rows]))
    out = ROOT / "tidings" / "data" / "checkworthy.npz"
    model.save(out)
    print(f"trained on {len(rows)} sentences from {len(debates)} debates -> {out}")


if __name__ == "__main__":
    main()
