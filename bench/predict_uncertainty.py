"""How `predict`'s rule for "no digit" and "uncertain" does, on real test
digits and on images that are no digits.

    .venv/bin/python bench/predict_uncertainty.py --mnist-dir ../shared/data/mnist [--output-dir outputs]

The model is the latest pushed one under the output directory (`--model DIR`
for another). Every image goes through predict's own steps (as_model_input,
the serving_images signature, judge), so this measures the rule `predict`
applies:

- the 10,000 MNIST test digits: how many it marks, how many of those the
  model gets wrong, and the accuracy on the rest;
- images that are no digits, drawn here from a fixed seed, each set as a user
  might give them (dark on light is inverted, as predict does): blank ones
  (white, black, one grey), noise (uniform, Gaussian, salt and pepper,
  sparse specks, blurred blobs), and other shapes (letters, circles, boxes,
  bars, crosses, grids, gradients): how many it catches, and by which check.

It also prints the real digits' ink shares, and what each confidence bound
would mark and catch, which is how the bounds in predict.py were chosen.
"""
import argparse

import numpy as np

from pipeline.process import boundary

PER_SET = 200
BOUNDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def _picture(array: np.ndarray) -> np.ndarray:
    """A drawing (any size, 0..1, dark on light or light on dark) as predict
    reads a picture file: greyscale, resized to 28x28."""
    from PIL import Image

    image = Image.fromarray((np.clip(array, 0, 1) * 255).astype(np.uint8))
    return np.asarray(image.resize((28, 28)), dtype=np.float32) / 255.0


def _blank(rng, n):
    levels = [1.0, 0.0] + list(rng.uniform(0, 1, n - 2))
    return [np.full((28, 28), level, np.float32) for level in levels]


def _noise(rng, n):
    from PIL import Image, ImageFilter

    kinds = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            kinds.append(rng.uniform(0, 1, (28, 28)))
        elif kind == 1:
            kinds.append(np.clip(rng.normal(0.5, 0.2, (28, 28)), 0, 1))
        elif kind == 2:
            kinds.append((rng.uniform(0, 1, (28, 28)) < 0.1).astype(np.float32))
        elif kind == 3:
            kinds.append((rng.uniform(0, 1, (28, 28)) < rng.uniform(0.01, 0.04)).astype(np.float32))
        else:
            blobs = Image.fromarray((rng.uniform(0, 1, (28, 28)) * 255).astype(np.uint8))
            kinds.append(np.asarray(blobs.filter(ImageFilter.GaussianBlur(2)), np.float32) / 255.0)
    return [np.asarray(k, np.float32) for k in kinds]


SHAPES = ("letter", "letter", "letter", "circle", "box", "cross", "grid", "gradient")


def _shapes(rng, n):
    """Letters and plain shapes (SHAPES in turn), drawn dark on light at
    112x112, as a user's picture."""
    from PIL import Image, ImageDraw, ImageFont

    letters = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghkmnpqrstuvwxyz"
    drawn = []
    for i in range(n):
        canvas = Image.new("L", (112, 112), 255)
        draw = ImageDraw.Draw(canvas)
        x, y = rng.integers(10, 30, 2)
        size = int(rng.integers(50, 80))
        width = int(rng.integers(4, 12))
        kind = i % len(SHAPES)
        if kind < 3:
            font = ImageFont.load_default(size=size)
            draw.text((x, y - 10), letters[rng.integers(len(letters))], fill=0, font=font)
        elif kind == 3:
            draw.ellipse([x, y, x + size, y + size], outline=0, width=width)
        elif kind == 4:
            draw.rectangle([x, y, x + size, y + size], outline=0, width=width)
        elif kind == 5:
            draw.line([x, y, x + size, y + size], fill=0, width=width)
            draw.line([x + size, y, x, y + size], fill=0, width=width)
        elif kind == 6:
            for k in range(0, 112, int(rng.integers(14, 30))):
                draw.line([k, 0, k, 112], fill=0, width=width)
                draw.line([0, k, 112, k], fill=0, width=width)
        else:
            canvas = Image.fromarray(np.tile(np.linspace(0, 255, 112, dtype=np.uint8), (112, 1)))
        drawn.append(_picture(np.asarray(canvas, np.float32) / 255.0))
    return drawn


def _judged(model_dir, images):
    from pipeline.inspection import predict

    inputs = predict.as_model_input(np.stack(images))
    probabilities = predict.classify(model_dir, inputs)
    return inputs, probabilities, [predict.judge(i, p) for i, p in zip(inputs, probabilities)]


def _caught_by(answers):
    from pipeline.inspection import predict

    counts = {"no ink": 0, "too much ink": 0, "low confidence": 0}
    for a in answers:
        if a.doubt is None:
            continue
        key = ("no ink" if a.ink_share < predict.MIN_INK_SHARE
               else "too much ink" if a.ink_share > predict.MAX_INK_SHARE else "low confidence")
        counts[key] += 1
    return counts


def main() -> int:
    from components.mnist_example_gen import source
    from pipeline import config as config_lib
    from pipeline.inspection import predict

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist-dir", required=True)
    parser.add_argument("--output-dir", default=None)
    parser.add_argument("--model", default=None, help="a SavedModel directory (default: the latest pushed)")
    args = parser.parse_args()
    cfg = config_lib.from_env(**({"output_dir": args.output_dir} if args.output_dir else {}))
    model_dir = args.model or predict.latest_pushed_model(cfg)

    test = source.from_directory(args.mnist_dir).load("eval")
    inputs, probabilities, answers = _judged(model_dir, list(test.images.astype(np.float32) / 255.0))
    predicted = probabilities.argmax(axis=1)
    wrong = predicted != test.labels
    marked = np.array([a.doubt is not None for a in answers])
    ink = np.mean(inputs >= predict.INK_LEVEL, axis=(1, 2, 3))
    top = probabilities.max(axis=1)
    print(f"model: {model_dir}")
    print(f"rule: no digit under {predict.MIN_INK_SHARE:.0%} ink; uncertain over {predict.MAX_INK_SHARE:.0%} "
          f"ink or under {predict.MIN_CONFIDENCE:.0%} top probability (ink: pixels >= {predict.INK_LEVEL})")
    print(f"real test digits: {len(test.labels)}, the model wrong on {wrong.sum()} "
          f"({wrong.mean():.2%})")
    print(f"  ink share: min {ink.min():.1%}, 0.1th percentile {np.percentile(ink, 0.1):.1%}, "
          f"median {np.median(ink):.1%}, 99.9th percentile {np.percentile(ink, 99.9):.1%}, max {ink.max():.1%}")
    print(f"  marked: {marked.sum()} ({marked.mean():.2%}) {_caught_by(answers)}; of them wrong: "
          f"{(marked & wrong).sum()} (of {wrong.sum()} wrong in all)")
    print(f"  accuracy on the digits answered: {1 - wrong[~marked].mean():.2%} "
          f"({(~marked).sum()} digits), on those marked: {1 - wrong[marked].mean():.2%}")

    rng = np.random.default_rng(0)
    sets = {"blank": _blank(rng, PER_SET), "noise": _noise(rng, PER_SET), "shapes and letters": _shapes(rng, PER_SET)}
    tops = {}
    print(f"images that are no digits, {PER_SET} of each set:")
    for name, images in sets.items():
        _, set_probabilities, set_answers = _judged(model_dir, images)
        caught = sum(a.doubt is not None for a in set_answers)
        print(f"  {name}: caught {caught} of {len(images)} ({caught / len(images):.0%}) {_caught_by(set_answers)}")
        if name == "shapes and letters":
            for shape in dict.fromkeys(SHAPES):
                mine = [a for i, a in enumerate(set_answers) if SHAPES[i % len(SHAPES)] == shape]
                passed = [f"{a.digit} ({a.probability:.0%})" for a in mine if a.doubt is None]
                print(f"    {shape}: caught {len(mine) - len(passed)} of {len(mine)}; answered as "
                      + (", ".join(passed[:8]) + (" ..." if len(passed) > 8 else "") or "-"))
        past_ink = [a.probability for a in set_answers
                    if predict.MIN_INK_SHARE <= a.ink_share <= predict.MAX_INK_SHARE]
        tops[name] = np.array(past_ink)

    print("confidence bound: real digits marked (wrong among them) | no-digits past the ink checks caught, per set")
    for bound in BOUNDS:
        low = top < bound
        cells = [f"{name} {np.sum(t < bound)}/{len(t)}" for name, t in tops.items()]
        print(f"  {bound:.2f}: {low.sum():5d} ({low.mean():.2%}) ({(low & wrong).sum()} wrong) | " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    boundary.run_entry(main, quiet=True)
