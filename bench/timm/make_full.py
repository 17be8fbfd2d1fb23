"""Full-size timm checkpoints for bench/timm/measure.js (not committed: 22 MB and 114 MB): deit_tiny_patch16_224 and
convnext_tiny with timm's own initialization (the pretrained files are not reachable here; the architecture and the
reading are the same), written as hub folders (model.safetensors, config.json by timm's save_config_for_hf), each with
io.json: a fixed 224×224 input (NHWC) and timm's forward on it. Also times timm's ViT-Ti training step (32×32, patch 4,
batch 32, AdamW) for the comparison in docs/timm.md.

    PYTHONPATH=../shared/tools/timm-without-torchvision venv/bin/python bench/timm/make_full.py /tmp/timm-full
"""
import json
import statistics
import sys
import time
from pathlib import Path

import safetensors.torch
import timm
import torch
from timm.models._hub import save_config_for_hf


def main():
    out = Path(sys.argv[1])
    torch.manual_seed(0)
    for arch in ("deit_tiny_patch16_224", "convnext_tiny"):
        model = timm.create_model(arch, pretrained=False).eval()
        folder = out / arch
        folder.mkdir(parents=True, exist_ok=True)
        safetensors.torch.save_file({k: v.contiguous() for k, v in model.state_dict().items()}, folder / "model.safetensors")
        save_config_for_hf(model, folder / "config.json")
        x = torch.randn((1, 3, 224, 224), generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            start = time.perf_counter()
            y = model(x)
            forward = time.perf_counter() - start
        with open(folder / "io.json", "w") as f:
            json.dump({"x": x.permute(0, 2, 3, 1).reshape(-1).tolist(), "xShape": [1, 224, 224, 3], "y": y.reshape(-1).tolist(),
                       "yShape": list(y.shape), "timmForwardS": forward}, f)
        print(f"wrote {folder}")
    # timm's ViT-Ti step: 32×32 images, patch 4 (64 tokens + class token), batch 32, AdamW, 10 classes.
    torch.set_num_threads(2)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32, patch_size=4, num_classes=10, drop_path_rate=0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.05)
    x = torch.randn(32, 3, 32, 32)
    y = torch.randint(0, 10, (32,))
    times = []
    for step in range(25):
        start = time.perf_counter()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if step >= 5:
            times.append(time.perf_counter() - start)
    result = {"params": sum(p.numel() for p in model.parameters()), "medianMs": 1000 * statistics.median(times), "steps": len(times)}
    with open(out / "timm_vit_step.json", "w") as f:
        json.dump(result, f)
    print("timm ViT-Ti step", result)


if __name__ == "__main__":
    main()
