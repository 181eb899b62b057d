"""``python -m genaug demo``: the digits demo."""

from __future__ import annotations

import argparse
import os


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genaug")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="balance a cut-down digits set with a conditional VAE")
    demo.add_argument("--out", default="demo-output", help="folder for the sample grid PNG")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--threads", type=int, default=1, help="libtorch threads (small nets: 1)")
    args = parser.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    from genaug._demo import run

    run(out_dir=args.out, seed=args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
