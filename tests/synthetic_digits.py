"""MNIST-shaped digits the tests draw themselves, for machines without MNIST.

Seven-segment glyphs with random size, position, stroke width and noise: easy
enough for the CNN to learn in seconds, varied enough that it has to.
"""
import numpy as np

_SEGMENTS = {
    0: "abcdef", 1: "bc", 2: "abged", 3: "abgcd", 4: "fgbc",
    5: "afgcd", 6: "afgedc", 7: "abc", 8: "abcdefg", 9: "abcdfg",
}


def _draw(digit: int, rng: np.random.Generator) -> np.ndarray:
    image = np.zeros((28, 28), dtype=np.float32)
    height, width = rng.integers(14, 21), rng.integers(8, 14)
    top, left = rng.integers(2, 27 - height), rng.integers(3, 26 - width)
    stroke = int(rng.integers(2, 4))
    mid, bottom, right = top + height // 2, top + height, left + width
    bars = {
        "a": (top, top + stroke, left, right),
        "d": (bottom - stroke, bottom, left, right),
        "g": (mid - stroke // 2, mid - stroke // 2 + stroke, left, right),
        "f": (top, mid, left, left + stroke),
        "e": (mid, bottom, left, left + stroke),
        "b": (top, mid, right - stroke, right),
        "c": (mid, bottom, right - stroke, right),
    }
    for segment in _SEGMENTS[digit]:
        r0, r1, c0, c1 = bars[segment]
        image[r0:r1, c0:c1] = rng.uniform(0.7, 1.0)
    image += rng.normal(0, 0.08, image.shape)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def make_digits(count: int, seed: int):
    """-> (uint8 images [count, 28, 28], uint8 labels [count])."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = np.stack([_draw(int(d), rng) for d in labels])
    return images, labels
