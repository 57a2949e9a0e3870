"""The training loop: one `fit` for the student, the teacher and a fine-tune (minibatches of augmented images, the
optimizer and its learning-rate schedule, distillation from a teacher's logits, an optional weight average, the
best epoch on the selection split), and the input normalization and predictions it needs."""
from __future__ import annotations

import copy
import math
import time

import torch
import torch.nn.functional as F

from birdwatch_training import augment, camera, cli, data, models
from birdwatch_training.progress import Progress


class Normalizer:
    def __init__(self, mean, std):
        self.m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    def __call__(self, x01):
        return (x01 - self.m) / self.s


class EMA:
    def __init__(self, model, decay):
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model):
        for e, m in zip(self.model.state_dict().values(), model.state_dict().values()):
            if e.dtype.is_floating_point:
                e.mul_(self.decay).add_(m.detach(), alpha=1 - self.decay)
            else:
                e.copy_(m)


@torch.no_grad()
def predict(model, x_u8: torch.Tensor, norm: Normalizer, batch: int = 1000) -> torch.Tensor:
    """Logits for uint8 images, in eval mode."""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    out = torch.cat([model(norm(x_u8[i:i + batch].float() / 255.0).to(device)).cpu()
                     for i in range(0, len(x_u8), batch)])
    model.train(was)
    return out


def evaluate(model, s: data.Samples, norm: Normalizer) -> dict:
    logits = predict(model, s.x, norm)
    return {"loss": float(F.cross_entropy(logits, s.y)), "acc": float((logits.argmax(1) == s.y).float().mean()),
            "logits": logits}


def make_optimizer(model, cfg):
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0)
    return torch.optim.AdamW(groups, lr=cfg.lr)


def lr_at(cfg, step: int, total: int) -> float:
    t = step / max(total, 1)
    if cfg.schedule == "onecycle":  # linear warm-up over 15%, then cosine to 0
        return cfg.lr * (t / 0.15 if t < 0.15 else 0.5 * (1 + math.cos(math.pi * (t - 0.15) / 0.85)))
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * t))
    return cfg.lr


def epoch_size(train: data.Samples, others: data.Samples | None, cfg) -> int:
    """Images per epoch: every airplane and bird, plus cfg.other_share of the epoch drawn from `others`."""
    other_share = getattr(cfg, "other_share", 0.0)
    if others is None or not other_share > 0:
        return len(train)
    return len(train) + round(len(train) * other_share / (1 - other_share))


def fit(model, train: data.Samples, val: data.Samples, norm: Normalizer, cfg, teacher=None, label="model",
        log=print, quiet=False, others: data.Samples | None = None, device="cpu", logit_cache=None):
    """Train `model` on `train`, validate on `val` each epoch. Returns (model to use, history list).

    With `others` (ten-class Samples of images that are neither class) and cfg.other_share > 0, each epoch adds
    that share of other-class images, labelled by the teacher. With cfg.aux10 > 0 the model has ten outputs: the
    teacher's two-class logits are matched by outputs airplane and bird, and all ten learn the true labels.
    With `logit_cache` (teacher.LogitCache), the teacher's logits of the epochs it holds are replayed, and the
    first epoch it lacks is added to it."""
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    other_share, aux10 = getattr(cfg, "other_share", 0.0), getattr(cfg, "aux10", 0.0)
    use_others = others is not None and other_share > 0
    pool = data.concat([train.ten_class(), others]) if use_others else train
    two = torch.tensor(data.TEN_CLASS_INDEX)
    # two-class label of every pool item (-1: neither class), and its ten-class label where the pool has them
    y2 = pool.y
    if use_others:
        y2 = torch.full((len(pool),), -1, dtype=torch.int64)
        y2[:len(train)] = train.y
    readout = models.Readout(model, data.TEN_CLASS_INDEX) if aux10 > 0 else model
    model.to(device)
    opt = make_optimizer(model, cfg)
    n_two, n = len(train), epoch_size(train, others, cfg)
    n_extra = n - n_two
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    ema = EMA(model, cfg.ema) if cfg.ema > 0 else None
    history, best, best_key, since_best, step = [], None, None, 0, 0
    # The batches are a pure function of the seed and the batch/augmentation flags (one generator draws them all),
    # so the teacher's logits on them can be kept and replayed by later runs (another student, more epochs).
    cached = logit_cache.load() if logit_cache is not None else None
    if cached:
        log(f"{label}: replaying the teacher's logits for {len(cached)} epochs from {logit_cache.name}")
    for epoch in range(1, cfg.epochs + 1):
        replay = cached[epoch - 1] if cached is not None and epoch <= len(cached) else None
        recorded = []
        model.train()
        bar = Progress(steps_per_epoch, f"{label} epoch {epoch}/{cfg.epochs}") if not quiet else None
        t0 = time.time()
        if use_others:  # every airplane and bird, plus a fresh draw of other-class images
            extra = n_two + torch.randperm(len(others), generator=gen)[:n_extra]
            epoch_items = torch.cat([torch.arange(n_two), extra])
            perm = epoch_items[torch.randperm(n, generator=gen)]
        else:
            perm = torch.randperm(n, generator=gen)
        sum_loss, sum_correct, n_judged = 0.0, 0, 0
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            x = pool.x[idx].float() / 255.0
            y = y2[idx]
            if cfg.augment:
                x = augment.augment_batch(x, gen, cfg.jitter)
            if getattr(cfg, "camera_augment", 0) > 0:
                x = camera.augment(x, gen, cfg.camera_augment)
            mixed = cfg.mixup > 0 and torch.rand(1, generator=gen).item() < cfg.mixup
            if mixed:
                x, mperm, lam = augment.mix_batch(x, gen)
            xn = norm(x).to(device)
            for g in opt.param_groups:
                g["lr"] = lr_at(cfg, step, total)
            out = model(xn)
            logits = out[:, two.to(device)] if aux10 > 0 else out
            if teacher is not None:
                if replay is not None:
                    t_logits = replay[i:i + len(idx)].float().to(device)
                else:
                    with torch.no_grad():
                        t_logits = teacher(xn)
                    recorded.append(t_logits.cpu())
                q = F.softmax(t_logits / cfg.distill_temp, dim=1)
                t = cfg.distill_temp
                loss = -(q * F.log_softmax(logits / t, dim=1)).sum(1).mean() * t * t
            elif mixed:
                loss = lam * F.cross_entropy(logits, y.to(device), label_smoothing=cfg.label_smoothing) + \
                    (1 - lam) * F.cross_entropy(logits, y[mperm].to(device), label_smoothing=cfg.label_smoothing)
            else:
                loss = F.cross_entropy(logits, y.to(device), label_smoothing=cfg.label_smoothing)
            if aux10 > 0:
                y10 = pool.y[idx].to(device)
                aux = F.cross_entropy(out, y10, label_smoothing=cfg.label_smoothing)
                if mixed:
                    aux = lam * aux + (1 - lam) * F.cross_entropy(out, y10[mperm.to(device)],
                                                                  label_smoothing=cfg.label_smoothing)
                loss = loss + aux10 * aux
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if ema:
                ema.update(model)
            sum_loss += float(loss) * len(idx)
            judged_items = y >= 0
            sum_correct += int((logits.argmax(1).cpu()[judged_items] == y[judged_items]).sum())
            n_judged += int(judged_items.sum())
            if bar:
                bar.update(1, loss=float(loss))
        if bar:
            bar.close()
        seconds = time.time() - t0
        if logit_cache is not None and replay is None and epoch == len(cached) + 1:
            cached.append(torch.cat(recorded))
            logit_cache.save(cached)
        judged = ema.model if ema else model
        judged_readout = models.Readout(judged, data.TEN_CLASS_INDEX) if aux10 > 0 else judged
        v = evaluate(judged_readout, val, norm) if len(val) else {"loss": float("nan"), "acc": float("nan")}
        h = {"epoch": epoch, "train_loss": sum_loss / n, "train_acc": sum_correct / max(n_judged, 1),
             "val_loss": v["loss"], "val_acc": v["acc"], "seconds": seconds, "lr": lr_at(cfg, step, total)}
        if ema and len(val):
            h["val_acc_without_ema"] = evaluate(readout, val, norm)["acc"]
        history.append(h)
        key = (v["acc"], -v["loss"])
        mark = ""
        if best_key is None or key > best_key:
            best_key, since_best, mark = key, 0, " *"
            best = copy.deepcopy(judged.state_dict())
            best_epoch = epoch
        else:
            since_best += 1
        log(f"{label} epoch {epoch:3d}/{cfg.epochs}  train loss {h['train_loss']:.4f} acc {h['train_acc']:.4f}  "
            f"val loss {h['val_loss']:.4f} acc {h['val_acc']:.4f}  {seconds:5.1f}s{mark}")
        if cfg.patience and since_best >= cfg.patience:
            log(f"{label}: no better validation accuracy for {cfg.patience} epochs, stopping")
            break
    final = ema.model if ema else model
    if cfg.select == "best" and best is not None:
        final.load_state_dict(best)
        log(f"{label}: using epoch {best_epoch} (best validation accuracy {best_key[0]:.4f})")
    return final.cpu().eval(), history


def resolve_device(choice: str, log=print) -> str:
    """--device: auto picks cuda when torch sees a GPU; asking for cuda without one is a usage error."""
    has_cuda = torch.cuda.is_available()
    if choice == "cuda" and not has_cuda:
        raise cli.UsageError("--device cuda: torch sees no CUDA GPU here (use --device auto or cpu)")
    device = "cuda" if choice == "cuda" or (choice == "auto" and has_cuda) else "cpu"
    log(f"device: {device}" + (" (auto: no CUDA GPU visible to torch)" if choice == "auto" and not has_cuda else ""))
    return device
