"""The model writer's quality gate: the measure `bench/write.py --model-only` prints, run on the bundled demo with
the scripted server (no ../shared needed), without sentence embeddings (the floor every install has). Floors as
measured: every planted fault caught (68 of 68) and 287 of 296 faithful sentences kept (97.0%)."""

import importlib.util
from pathlib import Path

from tidings.check.kb import load_kb

BENCH = Path(__file__).resolve().parent.parent / "bench" / "write.py"
FAITHFUL_KEPT_FLOOR = 0.95


def bench():
    spec = importlib.util.spec_from_file_location("bench_write", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_faithful_sentences_are_kept_and_planted_faults_caught():
    b = bench()
    faithful, requests = b.model_run(False, None)
    written = sum(w for w, _, _ in faithful.drafts)
    kept = written - sum(d for _, d, _ in faithful.drafts)
    assert requests == 34 and written > 250
    assert kept / written >= FAITHFUL_KEPT_FLOOR, f"faithful sentences kept {kept}/{written}"

    planter = b.Planter(load_kb(()))
    planted, _ = b.model_run(False, planter)
    faults = planter.planted
    assert {kind for kind, _, _ in faults} == set(b.FAULT_KINDS) and len(faults) >= 60
    missed = [f for f in faults if f[1:] not in planted.dropped and f[1:] not in planted.fell_back]
    assert missed == []
