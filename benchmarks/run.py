"""Speed: genaug next to a plain-PyTorch eager reference doing the same work, in one run.

Each workload is trained (or sampled) by genaug and by a plain-PyTorch loop with the same
networks, batch size, optimiser (``torch.optim.Adam`` at its defaults beside genaug's Adam with
the same learning rate and betas), dtype and thread count, on scikit-learn's digits (1,797 rows;
29 batches of 64 per epoch, the last one partial):

- ``vae``: conditional MLP VAE, 64+10 -> 256 -> 256 -> 2x8, mirrored decoder, Bernoulli
  reconstruction less the target's entropy, Adam 1e-3, batch 64;
- ``gan-bce`` / ``gan-wgan-gp``: conditional MLP GAN, latent 32, generator 42 -> 256 -> 256 ->
  64 (ReLU, tanh out), discriminator 2x64+10 -> 256 -> 256 -> 1 (LeakyReLU 0.2; each row
  beside its batch's means, as genaug's MLP discriminator sees it), Adam 2e-4 with
  betas (0.5, 0.999) / (0.5, 0.9); wgan-gp takes 2 critic steps per generator step and a
  gradient penalty of weight 10. Both keep an exponential moving average of the generator's
  weights after each generator step, as genaug does;
- ``dcgan``: conditional DCGAN (``bce``) on the digits upscaled to 32x32 single-channel images,
  latent 64, batch 64 (genaug's conv nets, see ``src/nets.rs``);
- ``sample-vae`` / ``sample-gan``: ``sample(100_000)`` of the fitted VAE and bce GAN, 10,000
  rows per class, rows per second including the copy into the NumPy array returned.

Training speed is steps (batches) per second over whole epochs with warm-up excluded: genaug's
from the difference between fits of ``--epochs`` long and short (so set-up and the first epochs
cancel), the reference's from its epochs after the first two. Each figure is the median of
``--repeats`` runs, genaug and the reference interleaved so that both see the same machine load.
Peak memory is each workload run alone in a child process: how far its resident memory
rises above the level after the imports (Linux only). The VAE's achieved GFLOP/s (its step's
multiply-adds: 3 x 2 x 64 x 175,104 = 67.2 MFLOP for forward and backward at batch 64) stands
beside a roofline measured in the same run: one thread's (or two threads') rate on a batch x
256 by 256x256 matrix product, the VAE's largest.

``--scaling`` instead measures a default VAE on a random 64-column float32 table: seconds per
epoch at 1,000, 10,000 and 100,000 rows, ``sample(n)``'s rate and memory for n up to
10,000,000, and the memory of a fit on 1,000,000 rows.

``--device cuda`` runs both sides on the GPU (timings synchronise the device; the memory
column is then each child's peak of torch's CUDA allocator, which genaug's allocations share),
and adds the reference with whole-step CUDA graph capture for the training workloads (each
step, or a GAN's critic and generator steps together, captured once and replayed; full
batches only). ``--batch`` sets the training batch size (default 64).

Run: ``python benchmarks/run.py [--threads 1 2] [--repeats 3] [--workloads vae ...]
[--device cpu|cuda] [--batch 64] [--no-memory] [--scaling]``. Prints Markdown tables; ratio > 1
means genaug is faster.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import genaug  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

BATCH = 64
VAE_LATENT, GAN_LATENT, DCGAN_LATENT, HIDDEN = 8, 32, 64, 256
SAMPLES = 100_000
# Epochs of the short and long fits whose difference is timed, per workload.
EPOCHS = {"vae": (4, 24), "gan-bce": (4, 16), "gan-wgan-gp": (4, 14), "dcgan": (1, 3)}
WORKLOADS = [*EPOCHS, "sample-vae", "sample-gan"]
# Where both sides run: "cpu" or "cuda" (set from --device).
DEVICE = "cpu"
# Multiply-adds of one row through the VAE's layers (forward; backward is twice that).
VAE_ROW_MACS = 74 * 256 + 256 * 256 + 256 * 16 + 18 * 256 + 256 * 256 + 256 * 64


def sync() -> None:
    """Waits for the device's queued work, so that a clock read after it counts that work."""
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def digits(image: bool) -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    if image:  # 32x32 single-channel images, 0..255
        x = (np.kron(x.reshape(-1, 1, 8, 8), np.ones((4, 4))) * (255 / 16)).round()
        x = x.astype(np.uint8)
    return x, y


# ---- the plain-PyTorch reference ----------------------------------------------------------


def mlp(widths: list[int], act: Callable[[], nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if i + 2 < len(widths):
            layers.append(act())
    return nn.Sequential(*layers)


class TorchVAE(nn.Module):
    def __init__(self, width: int, classes: int) -> None:
        super().__init__()
        self.enc = mlp([width + classes, HIDDEN, HIDDEN, 2 * VAE_LATENT], nn.ReLU)
        self.dec = mlp([VAE_LATENT + classes, HIDDEN, HIDDEN, width], nn.ReLU)

    def loss(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        mean, logvar = self.enc(torch.cat([x, c], 1)).chunk(2, 1)
        logvar = logvar.clamp(-12, 12)
        z = mean + (0.5 * logvar).exp() * torch.randn_like(mean)
        logits = self.dec(torch.cat([z, c], 1))
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        recon = (bce + torch.xlogy(x, x) + torch.xlogy(1 - x, 1 - x)).sum(1)
        kl = -0.5 * (1 + logvar - mean.square() - logvar.exp()).sum(1)
        return (recon + kl).mean()


class DcganGenerator(nn.Module):
    def __init__(self, latent: int, classes: int) -> None:
        super().__init__()
        self.project = nn.Linear(latent + classes, 64 * 8 * 8)
        self.norm0 = nn.BatchNorm2d(64)
        self.deconv1 = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.norm1 = nn.BatchNorm2d(32)
        self.deconv2 = nn.ConvTranspose2d(32, 1, 4, 2, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm0(self.project(z).view(-1, 64, 8, 8)))
        h = F.relu(self.norm1(self.deconv1(h)))
        return torch.tanh(self.deconv2(h).flatten(1))


class DcganDiscriminator(nn.Module):
    def __init__(self, classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 4, 2, 1)
        self.conv2 = nn.Conv2d(32, 64, 4, 2, 1)
        self.norm2 = nn.BatchNorm2d(64)
        self.head = nn.Linear(64 * 8 * 8, 1)
        self.embed = nn.Linear(classes, 64 * 8 * 8)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.conv1(x.view(-1, 1, 32, 32)), 0.2)
        f = F.leaky_relu(self.norm2(self.conv2(h)), 0.2).flatten(1)
        return self.head(f) + (self.embed(c) * f).sum(1, keepdim=True)


class TorchGan:
    """The conditional GAN's training loop: a discriminator step on every batch, a generator
    step every `n_critic` batches followed by the generator's moving average."""

    def __init__(self, workload: str, width: int, classes: int, capturable: bool = False) -> None:
        self.wgan = workload == "gan-wgan-gp"
        self.conv = workload == "dcgan"
        self.latent = DCGAN_LATENT if self.conv else GAN_LATENT
        if self.conv:
            self.g: nn.Module = DcganGenerator(self.latent, classes)
            self.d: nn.Module = DcganDiscriminator(classes)
        else:
            g = mlp([self.latent + classes, HIDDEN, HIDDEN, width], nn.ReLU)
            self.g = nn.Sequential(g, nn.Tanh())
            self.d = mlp([2 * width + classes, HIDDEN, HIDDEN, 1], lambda: nn.LeakyReLU(0.2))
        self.g.to(DEVICE)
        self.d.to(DEVICE)
        self.average = [p.detach().clone() for p in self.g.parameters()]
        betas = (0.5, 0.9) if self.wgan else (0.5, 0.999)
        opts = {"lr": 2e-4, "betas": betas, "capturable": capturable}
        self.g_opt = torch.optim.Adam(self.g.parameters(), **opts)
        self.d_opt = torch.optim.Adam(self.d.parameters(), **opts)
        self.n_critic, self.steps = (2 if self.wgan else 1), 0

    def generate(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.g(torch.cat([z, c], 1))

    def discriminate(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if self.conv:
            return self.d(x, c)
        return self.d(torch.cat([x, x.mean(0, keepdim=True).expand_as(x), c], 1))

    def step(self, x: torch.Tensor, c: torch.Tensor) -> None:
        real = x * 2 - 1
        fake = self.generate(torch.randn(len(x), self.latent, device=x.device), c)
        real_out, fake_out = self.discriminate(real, c), self.discriminate(fake.detach(), c)
        if self.wgan:
            t = torch.rand(len(x), 1, device=x.device)
            mixed = (real * t + fake.detach() * (1 - t)).requires_grad_(True)
            critic = self.discriminate(mixed, c).sum()
            (grad,) = torch.autograd.grad(critic, mixed, create_graph=True)
            penalty = (grad.norm(2, dim=1) - 1).square().mean()
            d_loss = fake_out.mean() - real_out.mean() + 10 * penalty
        else:
            ones, zeros = torch.ones_like(real_out), torch.zeros_like(fake_out)
            d_loss = F.binary_cross_entropy_with_logits(
                real_out, ones
            ) + F.binary_cross_entropy_with_logits(fake_out, zeros)
        self.d_opt.zero_grad()
        d_loss.backward()
        self.d_opt.step()
        self.steps += 1
        if self.steps % self.n_critic == 0:
            out = self.discriminate(fake, c)
            if self.wgan:
                g_loss = -out.mean()
            else:
                g_loss = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
            self.g_opt.zero_grad()
            g_loss.backward()
            self.g_opt.step()
            generator_steps = self.steps // self.n_critic
            decay = min(0.999, (1 + generator_steps) / (10 + generator_steps))
            with torch.no_grad():
                for average, live in zip(self.average, self.g.parameters(), strict=True):
                    average.lerp_(live, 1 - decay)


def torch_epoch_seconds(workload: str, epochs: int, graphed: bool = False) -> tuple[float, object]:
    """The median seconds of the reference's epochs after the first two, and its model.
    `graphed` (CUDA only) replays each step from a CUDA graph instead: see `graphed_epochs`."""
    x, y = digits(workload == "dcgan")
    if workload == "dcgan":
        data = torch.tensor(x.reshape(len(x), -1) / 255.0, dtype=torch.float32)
    else:
        lo, hi = x.min(0), x.max(0)
        data = torch.tensor((x - lo) / np.maximum(hi - lo, 1e-12), dtype=torch.float32)
    data = data.to(DEVICE)
    onehot = F.one_hot(torch.tensor(y), 10).float().to(DEVICE)
    if workload == "vae":
        vae = TorchVAE(data.shape[1], 10).to(DEVICE)
        opt = torch.optim.Adam(vae.parameters(), lr=1e-3, capturable=graphed)

        def step(xb: torch.Tensor, cb: torch.Tensor) -> None:
            loss = vae.loss(xb, cb)
            opt.zero_grad()
            loss.backward()
            opt.step()

        model: object = vae
    else:
        gan = TorchGan(workload, data.shape[1], 10, capturable=graphed)
        step, model = gan.step, gan
    if graphed:
        group = 1 if workload == "vae" else gan.n_critic
        return graphed_epochs(step, data, onehot, epochs, group), model
    seconds = timed_epochs(
        epochs, len(data), len(data), BATCH, lambda idx: step(data[idx], onehot[idx])
    )
    return seconds, model


def timed_epochs(
    epochs: int, n: int, stop: int, rows: int, run: Callable[[torch.Tensor], None]
) -> float:
    """The median seconds of `epochs` epochs after the first two, each running `run` on the
    indices of a shuffle of `n` rows, `rows` at a time, up to row `stop`."""
    seconds = []
    for _ in range(epochs):
        sync()
        started = time.perf_counter()
        order = torch.randperm(n, device=DEVICE)
        for start in range(0, stop, rows):
            run(order[start : start + rows])
        sync()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds[2:])


def graphed_epochs(
    step: Callable[[torch.Tensor, torch.Tensor], None],
    data: torch.Tensor,
    onehot: torch.Tensor,
    epochs: int,
    group: int,
) -> float:
    """The reference with whole-step CUDA graph capture: `group` consecutive steps (a GAN's
    critic steps and its generator step) captured once on static batches, then replayed with
    each epoch's batches copied in. Only whole groups of full batches run (the partial batch
    is dropped), so the result is seconds per step, not per epoch. Values fixed at capture
    (the moving average's decay) stay fixed: the same work, not the same schedule."""
    rows = BATCH * group
    static_x, static_c = data[:rows].clone(), onehot[:rows].clone()

    def steps() -> None:
        for k in range(group):
            step(static_x[k * BATCH : (k + 1) * BATCH], static_c[k * BATCH : (k + 1) * BATCH])

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up outside the graph, as capture requires
        for _ in range(3):
            steps()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        steps()

    def replay(idx: torch.Tensor) -> None:
        static_x.copy_(data[idx])
        static_c.copy_(onehot[idx])
        graph.replay()

    whole = len(data) // rows * rows
    return timed_epochs(epochs, len(data), whole, rows, replay) / (whole // BATCH)


def torch_sample_seconds(workload: str, model: object) -> float:
    x, _ = digits(False)
    lo, hi = x.min(0), x.max(0)
    started = time.perf_counter()
    with torch.no_grad():
        classes = torch.arange(10, device=DEVICE).repeat_interleave(SAMPLES // 10)
        labels = F.one_hot(classes, 10).float()
        if workload == "sample-vae":
            z = torch.randn(SAMPLES, VAE_LATENT, device=DEVICE)
            out = model.dec(torch.cat([z, labels], 1)).sigmoid()  # type: ignore[attr-defined]
        else:
            z = torch.randn(SAMPLES, GAN_LATENT, device=DEVICE)
            out = (model.generate(z, labels) + 1) / 2  # type: ignore[attr-defined]
        rows = (out.cpu().numpy() * (hi - lo) + lo).round()
    assert rows.shape == (SAMPLES, 64)
    return time.perf_counter() - started


# ---- genaug ---------------------------------------------------------------------------------


def genaug_model(workload: str) -> genaug.VAE | genaug.GAN:
    if workload == "vae":
        return genaug.VAE(latent_dim=VAE_LATENT, hidden=(HIDDEN, HIDDEN), seed=0, device=DEVICE)
    if workload == "dcgan":
        return genaug.GAN(latent_dim=DCGAN_LATENT, loss="bce", seed=0, device=DEVICE)
    loss = workload.removeprefix("gan-")
    hidden = (HIDDEN, HIDDEN)
    return genaug.GAN(latent_dim=GAN_LATENT, hidden=hidden, loss=loss, seed=0, device=DEVICE)


def genaug_fit(workload: str, epochs: int) -> tuple[float, genaug.VAE | genaug.GAN]:
    x, y = digits(workload == "dcgan")
    model = genaug_model(workload)
    started = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=BATCH, progress=False)
    return time.perf_counter() - started, model


def genaug_epoch_seconds(workload: str) -> tuple[float, genaug.VAE | genaug.GAN]:
    short, long = EPOCHS[workload]
    short_seconds, _ = genaug_fit(workload, short)
    long_seconds, model = genaug_fit(workload, long)
    return (long_seconds - short_seconds) / (long - short), model


def genaug_sample_seconds(model: genaug.VAE | genaug.GAN) -> float:
    labels = np.repeat(np.arange(10), SAMPLES // 10)
    started = time.perf_counter()
    rows = model.sample(SAMPLES, y=labels)
    assert rows.shape == (SAMPLES, 64)
    return time.perf_counter() - started


# ---- measuring ------------------------------------------------------------------------------


def roofline_gflops() -> float:
    """This thread count's rate on the VAE's largest matrix product, best of several runs."""
    a = torch.randn(BATCH, HIDDEN, device=DEVICE)
    b = torch.randn(HIDDEN, HIDDEN, device=DEVICE)
    out = torch.empty(BATCH, HIDDEN, device=DEVICE)
    best, n = float("inf"), 2000
    for _ in range(5):
        sync()
        started = time.perf_counter()
        for _ in range(n):
            torch.mm(a, b, out=out)
        sync()
        best = min(best, time.perf_counter() - started)
    return 2 * BATCH * HIDDEN * HIDDEN * n / best / 1e9


def run_once(workload: str, impl: str) -> float:
    """Seconds per step (training) or per row (sampling) of one run."""
    batches = -(-1797 // BATCH)
    if workload.startswith("sample-"):
        trained = "vae" if workload == "sample-vae" else "gan-bce"
        if impl == "genaug":
            _, model = genaug_fit(trained, 1)
            return genaug_sample_seconds(model) / SAMPLES
        _, ref = torch_epoch_seconds(trained, 3)
        return torch_sample_seconds(workload, ref) / SAMPLES
    if impl == "genaug":
        return genaug_epoch_seconds(workload)[0] / batches
    epochs = EPOCHS[workload][1] - EPOCHS[workload][0] + 2
    if impl == "torch-graph":  # already per step
        return torch_epoch_seconds(workload, epochs, graphed=True)[0]
    return torch_epoch_seconds(workload, epochs)[0] / batches


def vm_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def peak_rss_mib(workload: str, impl: str, threads: int) -> float:
    """How far a child process's resident memory rises above its level after the imports
    while it runs the workload once (Linux: VmHWM reset through clear_refs)."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            workload,
            impl,
            "--threads",
            str(threads),
            "--device",
            DEVICE,
            "--batch",
            str(BATCH),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(json.loads(out.strip().splitlines()[-1])["peak_rss_mib"])


def peak_rise_mib(work: Callable[[], object]) -> tuple[float, float]:
    """Seconds `work` takes and how far this process's resident memory rises above its level
    before it (Linux: VmHWM reset through clear_refs)."""
    before = vm_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    del result
    return seconds, (vm_kib("VmHWM") - before) / 1024


def scaling() -> None:
    """Time per epoch against rows, sampling rate and memory against rows sampled, and the
    memory of a fit on 1,000,000 rows, for a default VAE on a random 64-column float32 table."""
    rng = np.random.default_rng(0)
    print("| rows | seconds per epoch | microseconds per row |")
    print("| --- | --- | --- |")
    for rows in (1_000, 10_000, 100_000):
        x = rng.random((rows, 64), dtype=np.float32)
        model = genaug.VAE(seed=0).fit(x, epochs=8 if rows < 100_000 else 3, progress=False)
        # The time inside each epoch's training (fit's set-up and its end, which scores up to
        # 20,000 rows for the outlier threshold, are per fit, not per epoch).
        per_epoch = statistics.median(h["seconds"] for h in model.history[1:])
        print(f"| {rows:,} | {per_epoch:.3f} | {per_epoch / rows * 1e6:.1f} |", flush=True)
    table = rng.random((1_000, 64), dtype=np.float32)
    model = genaug.VAE(seed=0).fit(table, epochs=5, progress=False)
    print()
    print("| sample(n) | rows/s | peak memory rise | output array |")
    print("| --- | --- | --- | --- |")
    for n in (100_000, 1_000_000, 10_000_000):
        seconds, rise = peak_rise_mib(lambda n=n: model.sample(n))
        output = n * 64 * 4 / 2**20
        print(f"| {n:,} | {n / seconds:,.0f} | {rise:,.0f} MiB | {output:,.0f} MiB |", flush=True)
    x = rng.random((1_000_000, 64), dtype=np.float32)
    base, levels = vm_kib("VmRSS"), []
    stop = threading.Event()

    def watch() -> None:  # resident memory every 50 ms
        while not stop.wait(0.05):
            levels.append((vm_kib("VmRSS") - base) / 1024)

    watcher = threading.Thread(target=watch)
    watcher.start()
    seconds, rise = peak_rise_mib(
        lambda: genaug.VAE(seed=0).fit(x, epochs=1, batch_size=512, progress=False)
    )
    stop.set()
    watcher.join()
    middle = levels[len(levels) // 4 : 3 * len(levels) // 4] or levels
    data = x.nbytes / 2**20
    print()
    print(
        f"fit on 1,000,000 x 64 float32 ({data:,.0f} MiB), 1 epoch of batch 512: {seconds:.1f} s; "
        f"memory rise at its peak {rise:,.0f} MiB, while training (median) "
        f"{statistics.median(middle):,.0f} MiB",
        flush=True,
    )


def main() -> None:
    global DEVICE, BATCH
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workloads", nargs="+", default=WORKLOADS, choices=WORKLOADS)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--batch", type=int, default=BATCH, help="training batch size")
    parser.add_argument(
        "--scaling", action="store_true", help="time and memory against rows (instead)"
    )
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "IMPL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    DEVICE, BATCH = args.device, args.batch
    if DEVICE == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device is visible to torch")
    if args.child:
        torch.set_num_threads(args.threads[0])
        before = vm_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM to the current RSS
            f.write("5")
        run_once(*args.child)
        if DEVICE == "cuda":  # genaug's allocations go through the same caching allocator
            peak = torch.cuda.max_memory_allocated() / 2**20
        else:
            peak = (vm_kib("VmHWM") - before) / 1024
        print(json.dumps({"peak_rss_mib": peak}))
        return

    if args.scaling:
        torch.set_num_threads(args.threads[0])
        scaling()
        return
    where = torch.cuda.get_device_name() if DEVICE == "cuda" else "CPU"
    print(
        f"genaug vs plain PyTorch {torch.__version__} (eager), {where}, batch {BATCH}, "
        f"median of {args.repeats}"
    )
    print()
    memory_kind = "peak GPU memory" if DEVICE == "cuda" else "peak RSS rise"
    # On CUDA, also the reference with whole-step CUDA graph capture (training workloads).
    graphs = DEVICE == "cuda"
    extra = " PyTorch, CUDA graph | ratio to it |" if graphs else ""
    head = f"| workload | threads | genaug | PyTorch | ratio | {memory_kind} genaug / PyTorch |"
    print(head + extra)
    print("| --- | --- | --- | --- | --- | --- |" + (" --- | --- |" if graphs else ""))
    for threads in args.threads:
        torch.set_num_threads(threads)
        for workload in args.workloads:
            times: dict[str, list[float]] = {"genaug": [], "torch": []}
            if DEVICE == "cuda" and workload in EPOCHS:
                # The process's first fit of a network pays CUDA's and cuBLAS's (or cuDNN's)
                # start-up, which the short and long fits would not share.
                genaug_fit(workload, 1)
            for _ in range(args.repeats):  # interleaved: both see the same load
                for impl in times:
                    times[impl].append(run_once(workload, impl))
            g, t = statistics.median(times["genaug"]), statistics.median(times["torch"])
            unit = "rows/s" if workload.startswith("sample-") else "steps/s"
            memory = ""
            if not args.no_memory:
                mems = [peak_rss_mib(workload, impl, threads) for impl in times]
                memory = f"{mems[0]:.0f} / {mems[1]:.0f} MiB"
            graph_cells = ""
            if graphs:
                graph_cells = " - | - |"
                if not workload.startswith("sample-"):
                    try:
                        gt = statistics.median(
                            run_once(workload, "torch-graph") for _ in range(args.repeats)
                        )
                        graph_cells = f" {1 / gt:,.0f} {unit} | {gt / g:.2f}x |"
                    except Exception as e:  # a capture that fails is reported, not fatal
                        graph_cells = f" failed: {type(e).__name__}: {str(e)[:80]} | - |"
            print(
                f"| {workload} | {threads} | {1 / g:,.0f} {unit} | {1 / t:,.0f} {unit} "
                f"| {t / g:.2f}x | {memory} |{graph_cells}",
                flush=True,
            )
            if workload == "vae":
                vae_step = g
        if "vae" in args.workloads:
            roof = roofline_gflops()
            achieved = 3 * 2 * BATCH * VAE_ROW_MACS / vae_step / 1e9
            print(
                f"| vae GFLOP/s vs roofline | {threads} | {achieved:.1f} | roofline "
                f"{roof:.1f} ({BATCH}x256 @ 256x256) | {roof / achieved:.2f}x below | |",
                flush=True,
            )


if __name__ == "__main__":
    main()
