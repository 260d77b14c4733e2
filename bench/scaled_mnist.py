"""MNIST made k times larger from its own digits, for `bench/scale.py`.

Copy 0 of each split is MNIST as it is; every further copy moves each digit
by a small, deterministic shift (1 or 2 pixels each way, never none) and
rotation (up to 10 degrees), bilinear. The copies look like handwritten
digits, differ from the originals and each other, and keep their labels.
Both splits grow by the same factor, so the eval split stays in proportion.
"""
import os

import numpy as np
from scipy import ndimage

from components.mnist_example_gen import idx, source

MAX_DEGREES = 10.0
SHIFTS = np.array([-2, -1, 1, 2])
_CHUNK = 10_000


def moved(images: np.ndarray, copy: int) -> np.ndarray:
    """uint8 [N, 28, 28] -> each digit shifted and rotated, as copy `copy` does."""
    rng = np.random.default_rng([copy, len(images)])
    count, height, width = images.shape
    angles = np.deg2rad(rng.uniform(-MAX_DEGREES, MAX_DEGREES, count))
    shifts_r, shifts_c = rng.choice(SHIFTS, count), rng.choice(SHIFTS, count)
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    centre_r, centre_c = (height - 1) / 2, (width - 1) / 2
    out = np.empty_like(images)
    for start in range(0, count, _CHUNK):  # bounds the coordinate arrays' memory
        part = slice(start, start + _CHUNK)
        angle = angles[part, None, None]
        # Where each output pixel comes from: the inverse shift, then the
        # inverse rotation about the centre.
        r = rows[None] - shifts_r[part, None, None] - centre_r
        c = cols[None] - shifts_c[part, None, None] - centre_c
        src_r = np.cos(angle) * r + np.sin(angle) * c + centre_r
        src_c = -np.sin(angle) * r + np.cos(angle) * c + centre_c
        index = np.broadcast_to(np.arange(len(angle))[:, None, None], src_r.shape)
        values = ndimage.map_coordinates(
            images[part].astype(np.float32), [index, src_r, src_c], order=1, mode="constant"
        )
        out[part] = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return out


def build(mnist_dir: str, factor: int, out_dir: str) -> str:
    """Writes the four IDX files of MNIST x `factor` into `out_dir` (once)."""
    done = os.path.join(out_dir, ".complete")
    if os.path.exists(done):
        return out_dir
    os.makedirs(out_dir, exist_ok=True)
    paths = source.locate(mnist_dir)
    for images_stem, labels_stem in source.SPLIT_FILES.values():
        images = idx.parse_idx(idx.read_bytes(paths[images_stem]), images_stem, 3)
        labels = idx.parse_idx(idx.read_bytes(paths[labels_stem]), labels_stem, 1)
        all_images = [images] + [moved(images, copy) for copy in range(1, factor)]
        idx.write_idx(os.path.join(out_dir, images_stem), np.concatenate(all_images))
        idx.write_idx(os.path.join(out_dir, labels_stem), np.tile(labels, factor))
    open(done, "w").close()
    return out_dir
