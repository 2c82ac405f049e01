"""DDP on CPU (gloo, 2 processes): with ArcFace and PCL, whose class weights are read outside
the model's forward and whose own parameters (PCL's projections) sit outside DDP, every rank
gets the single-process gradients of the global batch (float64)."""

import torch

from bau.config import validate_run
from bau.distributed.ddp import gather_outputs, wrap_model
from bau.losses import create_id_loss
from bau.models import create_model
from bau.training.objective import ViewOutputs, compute_losses, total_loss
from tests.distributed.multiproc import run_ranks

NUM_CLASSES = 6
SPECS = ({"name": "arcface"}, {"name": "pcl"})


def _setup(spec):
    torch.manual_seed(0)
    model = create_model("resnet18", NUM_CLASSES, pretrained="none", height=32, width=16).double()
    id_loss = create_id_loss(spec, NUM_CLASSES, model.feat_dim).double()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(8, 3, 32, 16, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1, 3, 3, 5, 5])  # whole identity groups per rank
    method = validate_run({"method": {"strong_view": False, "id_loss": spec}})["method"]
    return model.train(), id_loss, x, y, method


def _step(net, model, id_loss, x, y, method, gather_fn=lambda ts: ts):
    emb, f, logits = gather_fn(list(net(x)))
    (y,) = gather_fn([y])
    out = ViewOutputs(emb, torch.nn.functional.normalize(f, dim=1), logits)
    terms = compute_losses(out, y, y, None, method, id_loss, model.classifier.weight)
    total_loss(terms, method["lam"]).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    grads.update({f"id_loss.{n}": p.grad.clone() for n, p in id_loss.named_parameters()})
    return {k: v.item() for k, v in terms.items()}, grads


def _rank_fn(rank, world):
    results = []
    for spec in SPECS:  # one pair of processes for both losses: starting them is the slow part
        model, id_loss, x, y, method = _setup(spec)
        net = wrap_model(model, torch.device("cpu"))
        half = slice(4 * rank, 4 * rank + 4)
        results.append(_step(net, model, id_loss, x[half], y[half], method, gather_outputs))
    return results


def test_ddp_matches_one_process():
    expected = [_step(model, model, id_loss, x, y, method) for model, id_loss, x, y, method in map(_setup, SPECS)]
    assert "classifier.weight" in expected[0][1] and "id_loss.proxy_proj" in expected[1][1]
    for rank_results in run_ranks(_rank_fn, world=2):
        for spec, (r_terms, r_grads), (terms, grads) in zip(SPECS, rank_results, expected):
            for name, value in terms.items():
                assert abs(r_terms[name] - value) <= 1e-9 * max(1.0, abs(value)), (spec, name)
            assert r_grads.keys() == grads.keys()
            for name, g in grads.items():
                scale = 1.0 if name == "pool.p" else g.abs().max().item()
                assert (r_grads[name] - g).abs().max().item() <= 1e-9 * scale, (spec, name)
