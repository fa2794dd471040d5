"""The numpy baseline of `alertlab bench tune`: the same M-of-N replay, vectorised the way one would
write it in numpy — a breach matrix per k (series × points), a cumulative-sum window count per N, a
comparison per M, episodes counted as rising edges — over the bands alertlab computed (so only the
replay is timed, as in tune after its bands are cached).

Usage: python bench_numpy.py DIR SERIES POINTS K,K,... N,N,... M,M,... [REPEAT]
DIR holds values.f64, center.f64 and spread.f64 (little-endian float64, series-major).
Prints `seconds configs episodes`, seconds being the fastest of REPEAT runs (default 1), as
alertlab reports its own.
"""
import sys
import time

import numpy as np


def main():
    folder, series, points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ks = [float(k) for k in sys.argv[4].split(",")]
    ns = [int(n) for n in sys.argv[5].split(",")]
    ms = [int(m) for m in sys.argv[6].split(",")]
    repeat = int(sys.argv[7]) if len(sys.argv) > 7 else 1
    load = lambda name: np.fromfile(f"{folder}/{name}.f64", dtype="<f8").reshape(series, points)
    values, center, spread = load("values"), load("center"), load("spread")
    runs = [replay(values, center, spread, ks, ns, ms) for _ in range(max(repeat, 1))]
    seconds, configs, episodes = min(runs)
    print(f"{seconds:.6f} {configs} {episodes}")


def replay(values, center, spread, ks, ns, ms):
    """One timed replay: (seconds, configs, episodes)."""
    series, points = values.shape
    start = time.perf_counter()
    configs = episodes = 0
    with np.errstate(invalid="ignore"):
        for k in ks:
            breach = values > center + k * spread  # NaN compares False: missing or no band
            csum = np.zeros((series, points + 1), dtype=np.int32)
            np.cumsum(breach, axis=1, out=csum[:, 1:])
            for n in ns:
                window = csum[:, n:] - csum[:, :-n]  # breaches in the last n points
                for m in ms:
                    if m > n:
                        continue
                    alarm = window >= m
                    episodes += int(np.count_nonzero(alarm[:, 1:] & ~alarm[:, :-1]) + np.count_nonzero(alarm[:, 0]))
                    configs += 1
    return time.perf_counter() - start, configs, episodes


if __name__ == "__main__":
    main()
