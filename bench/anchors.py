"""The bench network (8 bottleneck blocks, 64 channels, no drop path) in Keras 3 and in PyTorch, stepped on request, for
`npm run bench`'s anchors table. The bench starts one process per framework and size, and interleaves their steps with
the TF.js models' (each step is asked for on stdin and its time, in ms, answered on stdout), so that all share the
machine's load alike.

The network as the builders make it: 1×1 conv (16) → BN → ReLU → 3×3 conv (16) → BN → ReLU → 1×1 conv (64) → BN, plus
the block's input, → ReLU; convolutions without bias; BatchNorm momentum 0.9 in Keras' convention (PyTorch's 0.1),
epsilon 1e-3; global average pooling; a dense softmax head of 10 classes; categorical cross-entropy; batch 32, inputs
[32, size, size, 64]. Keras: TensorFlow backend, `train_on_batch` (its tf.function train step, no XLA). PyTorch: eager,
2 threads, NCHW.

    python bench/anchors.py keras|torch SIZE adam|sgd [BLOCKS CHANNELS BATCH]   (default 8 64 32)
    python bench/anchors.py timm DROP_PATH_RATE   (timm's ViT-Ti, 32×32, patch 4, batch 32, AdamW, for the ViT table)
    stdin:  "step" (one training step; answers its time in ms) or "quit"
    stdout: "ready PARAMS" once built and warmed up, then one time per step
"""
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

BLOCKS, CHANNELS, BATCH, CLASSES = 8, 64, 32, 10


def keras_model(size, optimizer):
    import keras
    import numpy as np

    def conv_bn(x, filters, kernel, relu):
        x = keras.layers.Conv2D(filters, kernel, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)(x)
        return keras.layers.ReLU()(x) if relu else x

    inp = keras.Input((size, size, CHANNELS))
    x = inp
    for _ in range(BLOCKS):
        b = conv_bn(conv_bn(conv_bn(x, CHANNELS // 4, 1, True), CHANNELS // 4, 3, True), CHANNELS, 1, False)
        x = keras.layers.ReLU()(keras.layers.Add()([x, b]))
    out = keras.layers.Dense(CLASSES, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inp, out)
    opt = keras.optimizers.Adam(1e-3) if optimizer == "adam" else keras.optimizers.SGD(0.01)
    model.compile(optimizer=opt, loss="categorical_crossentropy", jit_compile=False)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((BATCH, size, size, CHANNELS)).astype("float32")
    y = np.eye(CLASSES, dtype="float32")[np.arange(BATCH) % CLASSES]
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return trainable, lambda: model.train_on_batch(x, y)


def torch_model(size, optimizer):
    import torch
    from torch import nn

    torch.set_num_threads(2)

    def conv_bn(cin, cout, kernel, relu):
        layers = [nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(cout, eps=1e-3, momentum=0.1)]
        return layers + ([nn.ReLU()] if relu else [])

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.branch = nn.Sequential(*conv_bn(CHANNELS, CHANNELS // 4, 1, True), *conv_bn(CHANNELS // 4, CHANNELS // 4, 3, True),
                                        *conv_bn(CHANNELS // 4, CHANNELS, 1, False))

        def forward(self, x):
            return torch.relu(x + self.branch(x))

    model = nn.Sequential(*[Block() for _ in range(BLOCKS)], nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(CHANNELS, CLASSES))
    opt = torch.optim.Adam(model.parameters(), 1e-3) if optimizer == "adam" else torch.optim.SGD(model.parameters(), 0.01)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn((BATCH, CHANNELS, size, size), generator=gen)
    y = torch.arange(BATCH) % CLASSES
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return sum(p.numel() for p in model.parameters()), step


def timm_vit(drop_path_rate):
    """timm's ViT-Ti as the bench's TF.js ViT: 32×32 images, patch 4 (64 tokens + class token), 10 classes, batch 32,
    AdamW (lr 5e-4, weight decay 0.05 on all parameters, as torch's default param group), drop path linspace to the rate."""
    import timm
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32, patch_size=4, num_classes=10,
                              drop_path_rate=drop_path_rate)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.05)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn((32, 3, 32, 32), generator=gen)
    y = torch.arange(32) % 10

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return sum(p.numel() for p in model.parameters()), step


def main():
    global BLOCKS, CHANNELS, BATCH
    framework = sys.argv[1]
    if framework == "timm":
        params, step = timm_vit(float(sys.argv[2]))
    else:
        size, optimizer = int(sys.argv[2]), sys.argv[3]
        if len(sys.argv) > 4:
            BLOCKS, CHANNELS, BATCH = (int(v) for v in sys.argv[4:7])
        params, step = (keras_model if framework == "keras" else torch_model)(size, optimizer)
    for _ in range(5):
        step()
    print(f"ready {params}", flush=True)  # trainable parameters
    for line in sys.stdin:
        if line.strip() != "step":
            break
        start = time.perf_counter()
        step()
        print(f"{(time.perf_counter() - start) * 1000:.3f}", flush=True)


if __name__ == "__main__":
    main()
