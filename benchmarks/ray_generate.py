"""Generation throughput on Ray: ``genaug.ray.generate`` with 1, 2 and 4 actors next to a
single-process loop drawing the same chunks, in one run.

Model: ``genaug.VAE(seed=0)`` at its defaults (MLP 256-256), fitted on 2,000 rows of a
10-column numeric table (a few epochs: throughput does not depend on how well it trained).
Job: ``--rows`` rows (default 3,000,000) in chunks of ``--rows-per-chunk`` rows (default
``genaug.chunks.DEFAULT_ROWS_PER_CHUNK``), seed 0.

- **single process**: ``plan.columns_of(model, i)`` for every chunk in turn, at one libtorch
  thread: the work each actor does, without Ray;
- **Ray, k actors** (``num_cpus=1`` each, so one libtorch thread each, on a local cluster of
  k + 1 logical CPUs): ``generate(...)`` consumed with ``iter_batches``, actor start-up
  included.

Every run hashes its rows in order (row-major float64 bytes) and the table says whether the
hash equals the single-process one: the rows are identical whatever the number of actors.

Overheads, measured apart: **start-up** is the wall time of a one-row job on a fresh pool
(starting the actor, loading the model, scheduling the read tasks: a fixed cost per job, the
best of two); **per chunk** is the extra wall time per chunk of a 2,000-chunk job of 1-row
chunks on one actor over its start-up. "After start-up" compares the single process with the
run's seconds less the start-up.

Rows per second on k actors cannot exceed the machine's cores: on 2 cores, 4 actors share 2.

Run: ``python benchmarks/ray_generate.py [--rows 3000000] [--rows-per-chunk 16384]
[--actors 1 2 4]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import genaug  # noqa: E402
import genaug.ray as gray  # noqa: E402
import numpy as np  # noqa: E402
import ray  # noqa: E402
import torch  # noqa: E402
from genaug import chunks  # noqa: E402


def digest_columns(h: hashlib._Hash, columns: dict[str, np.ndarray]) -> int:
    rows = np.stack([np.asarray(v, dtype=np.float64) for v in columns.values()], axis=1)
    h.update(np.ascontiguousarray(rows).tobytes())
    return len(rows)


def single_process(model: genaug.VAE, job: chunks.ChunkPlan) -> tuple[float, str]:
    h = hashlib.blake2b()
    start = time.perf_counter()
    for i in range(job.count):
        digest_columns(h, job.columns_of(model, i))
    return time.perf_counter() - start, h.hexdigest()


def on_ray(model: genaug.VAE, n: int, rows_per_chunk: int, actors: int) -> tuple[float, str]:
    h = hashlib.blake2b()
    start = time.perf_counter()
    ds = gray.generate(model, n, seed=0, rows_per_chunk=rows_per_chunk, actors=actors)
    got = 0
    for batch in ds.iter_batches(batch_format="numpy", batch_size=None):
        got += digest_columns(h, batch)
    seconds = time.perf_counter() - start
    assert got == n, (got, n)
    return seconds, h.hexdigest()


def timed_job(model: genaug.VAE, n: int) -> float:
    start = time.perf_counter()
    gray.generate(model, n, seed=0, rows_per_chunk=1, actors=1).materialize()
    return time.perf_counter() - start


def overheads(model: genaug.VAE) -> tuple[float, float]:
    startup = min(timed_job(model, 1) for _ in range(2))
    chunks_n = 2000
    return startup, (timed_job(model, chunks_n) - startup) / chunks_n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--rows-per-chunk", type=int, default=chunks.DEFAULT_ROWS_PER_CHUNK)
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    torch.set_num_threads(1)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 10)) @ rng.normal(size=(10, 10))
    model = genaug.VAE(seed=0).fit(x, epochs=5, progress=False)

    ray.init(num_cpus=max(args.actors) + 1, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False

    job = chunks.plan(model, args.rows, seed=0, rows_per_chunk=args.rows_per_chunk)
    print(
        f"{args.rows:,} rows in {job.count} chunks of {args.rows_per_chunk:,}; "
        f"{os.cpu_count()} cores; ray {ray.__version__}"
    )
    base_s, base_hash = single_process(model, job)
    startup, per_chunk = overheads(model)
    print()
    print("| run | seconds | rows/s | vs single process | after start-up | rows identical |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    print(
        f"| single process (`columns_of` loop) | {base_s:.2f} | {args.rows / base_s:,.0f} | "
        "1.00x | 1.00x | reference |"
    )
    for actors in args.actors:
        seconds, digest = on_ray(model, args.rows, args.rows_per_chunk, actors)
        print(
            f"| Ray, {actors} actor{'s' if actors > 1 else ''} | {seconds:.2f} | "
            f"{args.rows / seconds:,.0f} | {base_s / seconds:.2f}x | "
            f"{base_s / max(seconds - startup, 1e-9):.2f}x | "
            f"{'yes' if digest == base_hash else 'NO'} |"
        )
    print()
    print(
        f"start-up (one-row job, fresh pool; the best of two): {startup:.2f} s; "
        f"per chunk: {per_chunk * 1000:.2f} ms "
        f"(drawing one chunk of {args.rows_per_chunk:,} rows: "
        f"{base_s / job.count * 1000:.1f} ms)"
    )
    ray.shutdown()


if __name__ == "__main__":
    main()
