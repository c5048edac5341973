#!/usr/bin/env python3
"""Generates examples/eta/cases.csv, the ETA acceptance cases.

200 trips with velocity v uniform in [20, 120] and distance d uniform in
[1, 100]; the ground truth is the 2.0.0 formula (eta = 1.07 * d / v + 0.05)
with +-3% multiplicative noise. The seed is fixed, so the file is the same
on every run: `python3 examples/eta/gen_cases.py > examples/eta/cases.csv`.
"""
import random

SEED = 20261126
ROWS = 200


def main():
    rng = random.Random(SEED)
    print("v,d,eta")
    for _ in range(ROWS):
        v = rng.uniform(20.0, 120.0)
        d = rng.uniform(1.0, 100.0)
        truth = (1.07 * d / v + 0.05) * (1.0 + rng.uniform(-0.03, 0.03))
        print(f"{v:.3f},{d:.3f},{truth:.6f}")


if __name__ == "__main__":
    main()
