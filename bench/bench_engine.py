"""Engine benchmark: start-up costs, per-image latency and memory against the machine's FLOP limit.

    python bench/bench_engine.py [--runs 5] [--threads N] [--weights PATH]

Without --weights, random weights in the real file layout are written to a temporary file.
777 GFLOP is the cost of one 1024x1024 image through the full network (backbone, FPN, RPN on five
levels, 1000-ROI box head, 100-slot mask head).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GFLOP_PER_IMAGE = 777.0
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def matmul_peak_gflops(tf, size: int = 4096, repeats: int = 8) -> float:
    """Best observed fp32 matmul throughput of this process's TensorFlow thread pool."""
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    matmul = tf.function(lambda x, y: tf.matmul(x, y))
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--weights", type=Path, default=None)
    args = parser.parse_args()

    weights = args.weights
    tmp = None
    if weights is None:
        # Written by a child process so that its float64 scratch memory does not count in peak RSS.
        tmp = tempfile.TemporaryDirectory()
        weights = Path(tmp.name) / "random_layout.h5"
        subprocess.run([sys.executable, "-m", "tests.random_weights", str(weights)], check=True,
                       cwd=ROOT, stdout=subprocess.DEVNULL)

    import numpy as np
    import skimage.data
    import skimage.transform

    # A real photo at exactly 1024x1024 (no resize: the molding is a pure copy).
    photo = skimage.transform.resize(skimage.data.astronaut(), (1024, 1024), order=1, preserve_range=True)
    photo = photo.astype(np.uint8)

    from app.mrcnn.threads import import_tensorflow

    t = time.perf_counter()
    tf = import_tensorflow()
    import_s = time.perf_counter() - t

    from app.mrcnn import MaskRCNN

    model = MaskRCNN.from_weights(weights, threads=args.threads)
    t = time.perf_counter()
    found = len(model.detect([photo])[0]["class_ids"])  # keep no result: each run's masks are freed
    first_s = time.perf_counter() - t
    warm = []
    for _ in range(args.runs):
        t = time.perf_counter()
        model.detect([photo])
        warm.append(time.perf_counter() - t)
    median = statistics.median(warm)
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # before the matmul test
    peak = matmul_peak_gflops(tf)
    limit_s = GFLOP_PER_IMAGE / peak
    threads = tf.config.threading.get_intra_op_parallelism_threads()

    rows = [
        ("threads", f"{threads} (cpus available: {len(os.sched_getaffinity(0))})"),
        ("tensorflow import", f"{import_s:.2f} s"),
        ("model build", f"{model.timings['build_s']:.2f} s"),
        ("weight load (+ check)", f"{model.timings['load_s']:.2f} s"),
        ("build + load", f"{model.timings['build_s'] + model.timings['load_s']:.2f} s"),
        ("first detect (trace)", f"{first_s:.2f} s ({found} detections)"),
        (f"warm detect, median of {args.runs}", f"{median:.2f} s (min {min(warm):.2f}, max {max(warm):.2f})"),
        ("peak RSS", f"{rss_gib:.2f} GiB"),
        ("fp32 matmul peak", f"{peak:.0f} GFLOP/s"),
        ("FLOP-limit time (777 GFLOP)", f"{limit_s:.2f} s"),
        ("warm / FLOP-limit", f"{median / limit_s:.2f}x"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
