"""Two CPU processes (gloo, torch.multiprocessing spawn) train with DDP and end with identical weights."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import torch
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).parent))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import torch.distributed as dist
    from test_train_fakes import FakeDataset, FakeMethod

    from hdrbench.train import TrainJob, train

    seen: list[torch.Tensor] = []
    job = TrainJob(method=FakeMethod(), dataset=FakeDataset(None), run_dir=Path(out) / "run", seed=0,
                   checkpoint_every=3, log_every=1, tensorboard=False, progress=False, overrides={"iterations": 6})
    original = FakeMethod.training_loss

    def spy(self, net, loss, ldr, hdr, stage):
        seen.append(ldr.clone())
        return original(self, net, loss, ldr, hdr, stage)

    FakeMethod.training_loss = spy
    result = train(job)
    torch.save({"state": result.net.state_dict(), "first_batch": seen[0], "steps": len(seen)},
               Path(out) / f"rank{rank}.pt")
    import atexit

    atexit._run_exitfuncs()  # what exit (and the CLI's fast exit) runs: init_distributed's handler leaves the group
    assert not dist.is_initialized()


def test_two_gloo_ranks_hold_identical_weights(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt")
    r1 = torch.load(tmp_path / "rank1.pt")
    assert r0["steps"] == r1["steps"] == 6
    assert not torch.equal(r0["first_batch"], r1["first_batch"])  # each rank sees its own patches
    for k, v in r0["state"].items():
        assert torch.equal(v, r1["state"][k]), k  # gradients were all-reduced every step
    # and the weights moved away from the shared initialisation
    from test_train_fakes import FakeMethod

    torch.manual_seed(0)
    init = FakeMethod().build_network().state_dict()
    assert any(not torch.equal(init[k], v) for k, v in r0["state"].items())
    assert (tmp_path / "run" / "final.safetensors").is_file()


def _eval_worker(rank: int, world: int, port: int, tmp: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import torch.distributed as dist
    from test_evaluate import make_bench

    from hdrbench.config import parse_config
    from hdrbench.evaluate import evaluate

    cfg = parse_config(make_bench(Path(tmp), external=False), Path(tmp) / "bench.toml")
    evaluate(cfg, progress=False)
    dist.destroy_process_group()


def test_evaluation_sharded_over_two_ranks_writes_the_single_process_rows(tmp_path):
    from test_evaluate import make_bench, rows

    from hdrbench.config import parse_config
    from hdrbench.evaluate import evaluate

    mp.spawn(_eval_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    sharded = rows(parse_config(make_bench(tmp_path, external=False), tmp_path / "bench.toml"))
    single = parse_config({**make_bench(tmp_path, external=False),
                           "benchmark": {"name": "t", "output": str(tmp_path / "single"), "device": "cpu"}},
                          tmp_path / "bench.toml")
    evaluate(single, progress=False)
    assert sharded == rows(single) and len(sharded) == 2 * 2 * 3 * 2
