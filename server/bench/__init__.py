"""The measurement harness of issue 8: a fast data generator (``moot demo generate``), the
physical baselines the app is compared with, and ``python -m server.bench.run`` (``make bench``),
which measures each workload side by side with its baseline and writes bench/results/."""
