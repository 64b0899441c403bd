"""Real plotserver servers and producers, shared by the tests (tests/) and the benchmarks (bench/).

- `harness.live_server`: uvicorn subprocesses on a database of their own, a REST client per user,
  `wait_for` (poll a condition with a deadline).
- `harness.producer`: a producer on a raw socket that controls every byte a stream sends.
- `harness.chromium`: the flags headless Chromium runs with.
- `harness.render`: frame counting and a paced producer for measuring the live page.
"""
