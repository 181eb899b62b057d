"""Fork safety (Linux): a process forked while another thread is fitting a model can still sample
that model and others. Each scenario runs in a child process so that a hang fails the test."""

import sys

import pytest
from _helpers import child_json

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork on Linux")

# A is being fitted on a thread (a slow callback keeps the fit going, with at least one epoch
# done) when the process forks; B is a fitted model that nothing else is using.
SETUP = """
import os, signal, threading
import multiprocessing

x, y = blobs()
a = genaug.VAE(latent_dim=2, hidden=(16,), device="cpu", seed=0)
b = genaug.VAE(latent_dim=2, hidden=(16,), device="cpu", seed=1).fit(x, y, epochs=2, progress=False)
one_epoch_done, stop = threading.Event(), threading.Event()

def slowly(stats):
    one_epoch_done.set()
    time.sleep(0.05)
    return not stop.is_set()

trainer = threading.Thread(
    target=lambda: a.fit(x, epochs=10_000, callbacks=slowly, progress=False), daemon=True
)
trainer.start()
assert one_epoch_done.wait(30)

def sample_both(_=None):
    return [list(a.sample(3).shape), list(b.sample(3, y=1).shape)]

def finish(result):
    alive = trainer.is_alive()
    stop.set()
    trainer.join(30)
    result.update(fitting_at_fork=alive, trainer_finished=not trainer.is_alive())
    print(json.dumps(result))
"""

OS_FORK = """
pid = os.fork()
if pid == 0:
    try:
        code = 0 if sample_both() == [[3, 5], [3, 5]] else 3
    except BaseException:
        code = 4
    os._exit(code)
deadline = time.monotonic() + 10
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        outcome = os.waitstatus_to_exitcode(status)
        break
    if time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        outcome = "hung"
        break
    time.sleep(0.02)
finish(dict(child=outcome))
"""

FORK_POOL = """
pool = multiprocessing.get_context("fork").Pool(2)
try:
    outcome = pool.map_async(sample_both, range(4)).get(timeout=15)
except multiprocessing.TimeoutError:
    outcome = "hung"
except BaseException as e:
    outcome = f"{type(e).__name__}: {e}"
finally:
    pool.terminate()
    pool.join()
finish(dict(child=outcome))
"""


def check(result, expected_child):
    assert result["fitting_at_fork"], "the fit had ended before the fork; nothing was tested"
    assert result["child"] == expected_child
    assert result["trainer_finished"]


def test_os_fork_while_a_thread_fits():
    check(child_json(SETUP + OS_FORK, timeout=60), 0)


def test_fork_pool_while_a_thread_fits():
    check(child_json(SETUP + FORK_POOL, timeout=60), [[[3, 5], [3, 5]]] * 4)
