"""DDP on CPU (gloo, 2 processes) gives the BAU losses and gradients of one process on the same
global batch: outputs are gathered with gradients, BatchNorm is synchronised per view.

The comparison runs in float64 so that the tolerance can be tight (float32 agrees to ~1e-3
only: the summation orders differ and BatchNorm over a few samples amplifies that)."""

import torch

from bau.config import validate_run
from bau.distributed.ddp import gather, gather_outputs, wrap_model
from bau.models import create_model
from bau.models.views import forward_views
from bau.training.memory import MemoryBank
from bau.training.objective import ViewOutputs, compute_losses, total_loss
from tests.distributed.multiproc import assert_same_step, run_ranks

NUM_CLASSES = 20  # 10 per domain: the domain loss needs B + 1 = 9 same-domain prototypes
METHOD = validate_run({"method": {"k": 3}})["method"]


def _setup():
    torch.manual_seed(0)
    model = create_model("resnet18", NUM_CLASSES, pretrained="none", height=32, width=16).double()
    g = torch.Generator().manual_seed(1)
    x_w = torch.randn(8, 3, 32, 16, generator=g, dtype=torch.float64)
    x_s = torch.randn(8, 3, 32, 16, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1, 12, 12, 15, 15])  # whole identity groups per rank
    d = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    protos = torch.nn.functional.normalize(
        torch.randn(NUM_CLASSES, model.feat_dim, generator=g, dtype=torch.float64), dim=1
    )
    memory = MemoryBank(protos, torch.tensor([0] * 10 + [1] * 10))
    return model.train(), x_w, x_s, y, d, memory


def _step(model, x_w, x_s, y, d, memory, gather_fn=lambda ts: ts):
    out_w, out_s = forward_views(model, x_w, x_s, "separate")
    emb_w, f_w, logits_w, f_s = gather_fn([out_w.emb, out_w.f, out_w.logits, out_s.f])
    y, d = gather_fn([y, d])
    terms = compute_losses(ViewOutputs(emb_w, f_w, logits_w, f_s), y, d, memory, METHOD)
    loss = total_loss(terms, METHOD["lam"])
    loss.backward()
    memory.update(f_w.detach(), y)
    return {k: v.item() for k, v in terms.items()}


def _rank_fn(rank, world):
    model, x_w, x_s, y, d, memory = _setup()
    ddp = wrap_model(model, torch.device("cpu"))
    half = slice(4 * rank, 4 * rank + 4)
    terms = _step(ddp, x_w[half], x_s[half], y[half], d[half], memory, gather_outputs)
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    return terms, grads, buffers, memory.features.clone(), gather(torch.tensor([rank]))


def test_ddp_matches_one_process_on_the_global_batch():
    model, x_w, x_s, y, d, memory = _setup()
    terms = _step(model, x_w, x_s, y, d, memory)
    assert set(terms) == {"ce", "tri", "align", "uniform", "domain"}
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    buffers = dict(model.named_buffers())
    for *result, ranks in run_ranks(_rank_fn, world=2):
        assert ranks.tolist() == [0, 1]
        assert_same_step(tuple(result), (terms, grads, buffers, memory.features))
