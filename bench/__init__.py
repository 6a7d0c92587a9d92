"""pam-mcp's benchmarks: every figure is a ratio of two things measured in the same run.

Run ``scripts/bench`` (``--quick`` for a short run). With ``PAM_BENCH_DATABASE_URL`` and
``PAM_BENCH_REDIS_URL`` it uses those servers; otherwise it starts embedded ones in a
temporary directory. It works in a database of its own and a Redis key space of its own,
both removed at the end. It prints a table and writes JSON to ``bench/results/``.

Benchmarks are not tests: nothing here asserts a timing. A target that is missed is
reported as missed.
"""
