"""The PyTorch peer of the workflow's CNN, for `train_throughput.py --peer`.

Most FER2013 code is PyTorch (usef-kh/fer, the 73% VGG), so the fair
question is whether the Keras/TensorFlow step is as fast as the same CNN and
recipe there. This builds, from the same config section, the same network:
conv blocks of Conv2d ('same' padding, no bias under batch norm),
BatchNorm2d (Keras' epsilon 1e-3 and momentum 0.99, i.e. PyTorch momentum
0.01), ReLU, max-pooling and dropout, then the global-average (or flatten)
head with dropout before each Linear layer; Adam (or SGD with Nesterov
momentum, or AdamW) at the config's learning rate, cross-entropy with the
config's label smoothing. The input is the same raw 0..255 batch, rescaled
by 1/255 in the step, and the same augmentation is done the PyTorch way (one
``affine_grid`` + ``grid_sample`` per batch: flip, shift, rotation and zoom,
bilinear, edges repeated), so both sides pay for an equivalent resampling.
Memory format: PyTorch's default (NCHW), as FER2013 code uses it.

PyTorch is a benchmark-only dependency (``requirements-bench.txt``), never
imported by the workflow.
"""

import math
import os


def build_step(config, batch, threads, seed=0):
    """A zero-argument function that runs one training step of the PyTorch
    peer on a fixed random batch and returns its loss as a float (so that the
    step is finished when it returns)."""
    cnn, train = config["cnn"], config["train"]
    aug = train["augment"]
    if cnn.get("residual") or (aug["enabled"] and aug.get("cutout")):
        raise ValueError(
            "the PyTorch peer builds plain CNNs with the affine augmentation only: "
            "set cnn.residual: false and train.augment.cutout: 0 for --peer"
        )
    # OpenMP threads that spin while they wait for each other stall when the
    # machine is shared (a descheduled thread holds up the others): on the
    # loaded 2-core machine a step took 10x longer with the default policy.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(seed)

    layers, channels, first = [], 1, True
    for block in cnn["blocks"]:
        bn = block["batch_norm"]
        for _ in range(block["convs"]):
            if cnn["separable"] and not first:
                layers += [
                    nn.Conv2d(
                        channels, channels, block["kernel"], padding="same", groups=channels, bias=False
                    ),
                    nn.Conv2d(channels, block["filters"], 1, bias=not bn),
                ]
            else:
                layers.append(
                    nn.Conv2d(channels, block["filters"], block["kernel"], padding="same", bias=not bn)
                )
            if bn:
                layers.append(nn.BatchNorm2d(block["filters"], eps=1e-3, momentum=0.01))
            layers.append(nn.ReLU(inplace=True))
            channels, first = block["filters"], False
        if block["pool"] > 1:
            layers.append(nn.MaxPool2d(block["pool"]))
        if block["dropout"] > 0:
            layers.append(nn.Dropout(block["dropout"]))
    if cnn["head_pool"] == "avg":
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        features = channels
    else:
        size = 48
        for block in cnn["blocks"]:
            size //= max(1, block["pool"])
        layers.append(nn.Flatten())
        features = channels * size * size
    for width in cnn["dense"]:
        if cnn["dense_dropout"] > 0:
            layers.append(nn.Dropout(cnn["dense_dropout"]))
        layers += [nn.Linear(features, width), nn.ReLU(inplace=True)]
        features = width
    if cnn["dense_dropout"] > 0:
        layers.append(nn.Dropout(cnn["dense_dropout"]))
    layers.append(nn.Linear(features, 7))
    model = nn.Sequential(*layers)
    model.train()

    lr = float(train["learning_rate"])
    if train["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr, momentum=float(train["momentum"]), nesterov=True)
    elif train["optimizer"] == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr, weight_decay=float(train["weight_decay"]))
    elif train["optimizer"] == "adadelta":
        opt = torch.optim.Adadelta(model.parameters(), lr)
    else:
        opt = torch.optim.Adam(model.parameters(), lr, eps=1e-7)  # Keras' epsilon
    loss_fn = nn.CrossEntropyLoss(label_smoothing=float(train["label_smoothing"]))

    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 1, 48, 48, generator=gen) * 255
    y = torch.randint(0, 7, (batch,), generator=gen)

    def augment(images):
        n = images.shape[0]

        def uniform(limit):
            return (torch.rand(n) * 2 - 1) * limit

        flip = torch.where(torch.rand(n) < 0.5, -1.0, 1.0) if aug.get("flip") else torch.ones(n)
        angle = uniform(2 * math.pi * aug.get("rotation", 0.0))
        scale = 1 + uniform(aug.get("zoom", 0.0))
        # affine_grid works in [-1, 1] coordinates: a shift of s*size pixels is 2*s.
        tx, ty = uniform(2 * aug.get("shift", 0.0)), uniform(2 * aug.get("shift", 0.0))
        cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
        theta = torch.stack(
            [torch.stack([flip * cos, flip * sin, tx], 1), torch.stack([-sin, cos, ty], 1)], 1
        )
        grid = nn.functional.affine_grid(theta, list(images.shape), align_corners=True)
        return nn.functional.grid_sample(
            images, grid, mode="bilinear", padding_mode="border", align_corners=True
        )

    def step():
        images = x
        if aug.get("enabled"):
            images = augment(images)
        logits = model(images * (1.0 / 255))
        loss = loss_fn(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step
