#!/usr/bin/env python3
"""Train cofre's demonstration chest-finding CNN on synthetic images and export it to ONNX.

THIS IS A DEMONSTRATION MODEL. It is trained only on invented synthetic
pictures (blobs, fluid-level gradients and an enlarged central shape on a
noisy chest-like background). It has NO clinical validity and must never be
used on real patients.

Everything (data, initialisation, shuffling) derives from --seed, and BLAS is
pinned to one thread, so two runs with the same seed and the same pinned
packages (requirements.txt) produce the same model.onnx byte for byte.

The network is written with numpy only (im2col convolution, ReLU, max pooling,
dense layer, softmax cross-entropy, Adam); the `onnx` package is used only to
write the graph, and `onnxruntime` only to check the exported file against the
numpy forward pass.

Usage: python3 train.py [--seed 10] [--out DIR]
"""

import os

# One BLAS thread: deterministic summation order, and the machine is shared.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

LABELS = ["normal", "nodule", "effusion", "cardiomegaly"]
SIZE = 224  # model input is [N, 1, SIZE, SIZE]
OPSET = 17

# ---------------------------------------------------------------------------
# Synthetic data
# ---------------------------------------------------------------------------

_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)


def _ellipse(cx, cy, rx, ry):
    return ((_XX - cx) / rx) ** 2 + ((_YY - cy) / ry) ** 2


def _smooth_mask(d, edge=0.08):
    """1 inside an ellipse distance field d (d<1), 0 outside, with a soft edge."""
    return np.clip((1.0 + edge - d) / (2 * edge), 0.0, 1.0)


def synth_image(rng, label):
    """One 224x224 chest-like picture in [0,1], quantised to 8 bits like a PNG."""
    jx, jy = rng.uniform(-8, 8), rng.uniform(-8, 8)
    body = 0.55 + rng.uniform(-0.05, 0.05)
    img = np.full((SIZE, SIZE), body, np.float32)
    # Two dark lung fields.
    lung_rx, lung_ry = rng.uniform(40, 48), rng.uniform(72, 82)
    lungs = []
    for side in (-1, 1):
        cx, cy = 112 + side * rng.uniform(48, 54) + jx, 112 + jy
        m = _smooth_mask(_ellipse(cx, cy, lung_rx, lung_ry))
        img -= 0.35 * m
        lungs.append((cx, cy, m))
    # Heart: a bright central shape, lower half. Cardiomegaly enlarges it.
    scale = rng.uniform(1.55, 1.8) if label == 3 else rng.uniform(0.9, 1.1)
    hx, hy = 112 + jx + rng.uniform(-3, 3), 140 + jy
    heart = _smooth_mask(_ellipse(hx, hy, 24 * scale, 28 * scale))
    img = img * (1 - heart) + (body + 0.2) * heart
    if label == 1:  # nodule: one or two small bright blobs inside a lung field
        for _ in range(rng.integers(1, 3)):
            cx, cy, _m = lungs[rng.integers(0, 2)]
            nx = cx + rng.uniform(-0.5, 0.5) * lung_rx
            ny = cy + rng.uniform(-0.65, 0.3) * lung_ry
            r = rng.uniform(6, 10)
            img += 0.45 * np.exp(-(((_XX - nx) ** 2 + (_YY - ny) ** 2) / (2 * r * r)))
    if label == 2:  # effusion: fluid level filling the bottom of one lung
        cx, cy, m = lungs[rng.integers(0, 2)]
        level = cy + rng.uniform(0.1, 0.45) * lung_ry
        # meniscus: the level curves up towards the lateral wall
        curve = level - 0.004 * (_XX - cx) ** 2
        fluid = np.clip((_YY - curve) / 6.0, 0.0, 1.0)
        img += 0.32 * fluid * m
    # Ribs: faint horizontal bands; then sensor noise.
    img += 0.04 * np.sin(_YY / rng.uniform(9, 12) + rng.uniform(0, 6.3))
    img += rng.normal(0, 0.04, img.shape).astype(np.float32)
    img = np.clip(img, 0.0, 1.0)
    return (np.round(img * 255.0) / 255.0).astype(np.float32)


def synth_set(rng, n):
    labels = np.arange(n) % len(LABELS)
    rng.shuffle(labels)
    x = np.stack([synth_image(rng, int(k)) for k in labels])[:, None, :, :]
    return x.astype(np.float32), labels.astype(np.int64)


# ---------------------------------------------------------------------------
# numpy CNN (NCHW throughout, ONNX weight layouts)
# ---------------------------------------------------------------------------


def avgpool2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


def im2col(x):
    """3x3, stride 1, pad 1 -> (N*H*W, C*9) ordered (c, kh, kw) like ONNX Conv weights."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))  # n,c,h,w,3,3
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * h * w, c * 9)


def col2im(dcols, shape):
    n, c, h, w = shape
    d = dcols.reshape(n, h, w, c, 3, 3)
    dxp = np.zeros((n, c, h + 2, w + 2), np.float32)
    for i in range(3):
        for j in range(3):
            dxp[:, :, i:i + h, j:j + w] += d[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, 1:-1, 1:-1]


def conv_fwd(x, wt, b):
    n, _, h, w = x.shape
    cols = im2col(x)
    out = cols @ wt.reshape(wt.shape[0], -1).T + b
    return out.reshape(n, h, w, -1).transpose(0, 3, 1, 2), cols


def conv_bwd(dout, cols, wt, xshape):
    o = wt.shape[0]
    dmat = dout.transpose(0, 2, 3, 1).reshape(-1, o)
    dw = (dmat.T @ cols).reshape(wt.shape)
    db = dmat.sum(axis=0)
    dx = col2im(dmat @ wt.reshape(o, -1), xshape)
    return dx, dw, db


def maxpool_fwd(x):
    n, c, h, w = x.shape
    r = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = r.max(axis=(3, 5))
    mask = r == out[:, :, :, None, :, None]
    # Break ties so exactly one input receives the gradient (first in scan order).
    flat = mask.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    first = np.zeros_like(flat)
    idx = flat.argmax(axis=-1)
    np.put_along_axis(first, idx[..., None], True, axis=-1)
    mask = first.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    return out, mask


def maxpool_bwd(dout, mask):
    n, c, h2, _, w2, _ = mask.shape
    d = mask * dout[:, :, :, None, :, None]
    return d.reshape(n, c, h2 * 2, w2 * 2)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


CHANNELS = [1, 8, 16, 16]
FLAT = CHANNELS[-1] * 14 * 14


def init_params(rng):
    p = {}
    for i in range(3):
        cin, cout = CHANNELS[i], CHANNELS[i + 1]
        p[f"conv{i + 1}.weight"] = (rng.normal(0, np.sqrt(2.0 / (cin * 9)), (cout, cin, 3, 3))).astype(np.float32)
        p[f"conv{i + 1}.bias"] = np.zeros(cout, np.float32)
    p["fc.weight"] = (rng.normal(0, np.sqrt(1.0 / FLAT), (FLAT, len(LABELS)))).astype(np.float32)
    p["fc.bias"] = np.zeros(len(LABELS), np.float32)
    return p


def forward(p, x, keep=False):
    cache = []
    h = avgpool2(x)  # 112x112
    for i in range(3):
        z, cols = conv_fwd(h, p[f"conv{i + 1}.weight"], p[f"conv{i + 1}.bias"])
        a = np.maximum(z, 0)
        pooled, mask = maxpool_fwd(a)
        if keep:
            cache.append((h.shape, cols, z, mask))
        h = pooled
    flat = h.reshape(h.shape[0], -1)
    logits = flat @ p["fc.weight"] + p["fc.bias"]
    if keep:
        return softmax(logits), (cache, flat)
    return softmax(logits)


def backward(p, probs, y, state):
    cache, flat = state
    n = probs.shape[0]
    g = {}
    dlogits = probs.copy()
    dlogits[np.arange(n), y] -= 1.0
    dlogits /= n
    g["fc.weight"] = flat.T @ dlogits
    g["fc.bias"] = dlogits.sum(axis=0)
    dh = (dlogits @ p["fc.weight"].T).reshape(n, CHANNELS[-1], 14, 14)
    for i in reversed(range(3)):
        xshape, cols, z, mask = cache[i]
        da = maxpool_bwd(dh, mask) * (z > 0)
        dh, g[f"conv{i + 1}.weight"], g[f"conv{i + 1}.bias"] = conv_bwd(da, cols, p[f"conv{i + 1}.weight"], xshape)
    return g


def train(p, x, y, rng, epochs, batch, lr):
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps, t = 0.9, 0.999, 1e-8, 0
    for ep in range(epochs):
        order = rng.permutation(len(x))
        loss_sum, correct = 0.0, 0
        for s in range(0, len(x), batch):
            idx = order[s:s + batch]
            probs, state = forward(p, x[idx], keep=True)
            loss_sum += float(-np.log(probs[np.arange(len(idx)), y[idx]] + 1e-12).sum())
            correct += int((probs.argmax(1) == y[idx]).sum())
            g = backward(p, probs, y[idx], state)
            t += 1
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * g[k]
                v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k]
                mh = m[k] / (1 - b1 ** t)
                vh = v[k] / (1 - b2 ** t)
                p[k] = (p[k] - lr * mh / (np.sqrt(vh) + eps)).astype(np.float32)
        print(f"epoch {ep + 1}/{epochs}: loss {loss_sum / len(x):.4f} train acc {correct / len(x):.4f}", flush=True)


def predict(p, x, batch=64):
    return np.concatenate([forward(p, x[s:s + batch]) for s in range(0, len(x), batch)])


# ---------------------------------------------------------------------------
# ONNX export and check
# ---------------------------------------------------------------------------


def export_onnx(p, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("AveragePool", ["image"], ["h0"], kernel_shape=[2, 2], strides=[2, 2], name="downsample")]
    prev = "h0"
    for i in range(1, 4):
        nodes += [
            helper.make_node("Conv", [prev, f"conv{i}.weight", f"conv{i}.bias"], [f"c{i}"],
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], name=f"conv{i}"),
            helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"relu{i}"),
            helper.make_node("MaxPool", [f"r{i}"], [f"h{i}"], kernel_shape=[2, 2], strides=[2, 2], name=f"pool{i}"),
        ]
        prev = f"h{i}"
    nodes += [
        helper.make_node("Flatten", [prev], ["flat"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1, name="softmax"),
    ]
    inits = [numpy_helper.from_array(p[k], name=k) for k in sorted(p)]
    graph = helper.make_graph(
        nodes, "cofre_chest_demo",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, SIZE, SIZE])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", len(LABELS)])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="cofre infer/models/chest/train.py", producer_version="1")
    model.ir_version = 8  # opset 17 era; readable by every ONNX Runtime >= 1.13
    model.doc_string = ("DEMONSTRATION MODEL trained on synthetic images; NO clinical validity. "
                        "Labels: " + ",".join(LABELS))
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--n-train", type=int, default=2400)
    ap.add_argument("--n-test", type=int, default=400)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--reference-out", default=None,
                    help="where to write the raw float32 reference tensor of examples/nodule.png")
    args = ap.parse_args()

    import onnx
    import onnxruntime as ort
    from PIL import Image

    t0 = time.time()
    rng = np.random.default_rng(args.seed)
    xtr, ytr = synth_set(rng, args.n_train)
    xte, yte = synth_set(rng, args.n_test)
    print(f"data: {len(xtr)} train, {len(xte)} test ({time.time() - t0:.1f}s)", flush=True)

    p = init_params(rng)
    train(p, xtr, ytr, rng, args.epochs, args.batch, args.lr)

    probs = predict(p, xte)
    pred = probs.argmax(1)
    acc = float((pred == yte).mean())
    recall = {LABELS[k]: float((pred[yte == k] == k).mean()) for k in range(len(LABELS))}
    print(f"numpy test accuracy {acc:.4f} recall {recall}", flush=True)

    model_path = os.path.join(args.out, "model.onnx")
    export_onnx(p, model_path)
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    ort_probs = np.concatenate([sess.run(["probabilities"], {"image": xte[s:s + 64]})[0]
                                for s in range(0, len(xte), 64)])
    max_diff = float(np.abs(ort_probs - probs).max())
    ort_pred = ort_probs.argmax(1)
    ort_acc = float((ort_pred == yte).mean())
    ort_recall = {LABELS[k]: float((ort_pred[yte == k] == k).mean()) for k in range(len(LABELS))}
    print(f"onnxruntime test accuracy {ort_acc:.4f}, max |ort - numpy| = {max_diff:.2e}", flush=True)
    if max_diff > 1e-4:
        raise SystemExit(f"exported model disagrees with numpy forward pass: {max_diff}")

    # One example per class, drawn from a separate stream so they are not in the train/test sets.
    ex_rng = np.random.default_rng(args.seed + 1)
    ex_dir = os.path.join(args.out, "examples")
    os.makedirs(ex_dir, exist_ok=True)
    examples = {}
    for k, name in enumerate(LABELS):
        img = synth_image(ex_rng, k)
        png = os.path.join(ex_dir, f"{name}.png")
        Image.fromarray(np.round(img * 255).astype(np.uint8), mode="L").save(png, optimize=False)
        # Re-read the file: the prediction recorded is for the bytes committed.
        back = np.asarray(Image.open(png).convert("L"), dtype=np.float32) / 255.0
        out = sess.run(["probabilities"], {"image": back[None, None]})[0][0]
        examples[f"examples/{name}.png"] = {
            "label": name,
            "predicted": LABELS[int(out.argmax())],
            "probabilities": [round(float(v), 6) for v in out],
            "sha256": hashlib.sha256(open(png, "rb").read()).hexdigest(),
        }
        if name == "nodule" and args.reference_out:
            back.astype("<f4").tofile(args.reference_out)

    with open(os.path.join(args.out, "labels.txt"), "w") as f:
        f.write("\n".join(LABELS) + "\n")
    metrics = {
        "model": "model.onnx",
        "demonstration_only": True,
        "clinical_validity": "none: trained on synthetic images",
        "labels": LABELS,
        "input": {"name": "image", "type": "float32", "shape": ["N", 1, SIZE, SIZE], "range": [0, 1]},
        "output": {"name": "probabilities", "type": "float32", "shape": ["N", len(LABELS)]},
        "seed": args.seed,
        "n_train": args.n_train,
        "n_test": args.n_test,
        "epochs": args.epochs,
        "test_accuracy": round(ort_acc, 4),
        "test_recall": {k: round(v, 4) for k, v in ort_recall.items()},
        "numpy_test_accuracy": round(acc, 4),
        "numpy_test_recall": {k: round(v, 4) for k, v in recall.items()},
        "max_abs_diff_onnxruntime_vs_numpy": max_diff,
        "opset": OPSET,
        "numpy_version": np.__version__,
        "onnx_version": onnx.__version__,
        "onnxruntime_version": ort.__version__,
        "model_sha256": hashlib.sha256(open(model_path, "rb").read()).hexdigest(),
        "model_bytes": os.path.getsize(model_path),
        "examples": examples,
    }
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"done in {time.time() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
