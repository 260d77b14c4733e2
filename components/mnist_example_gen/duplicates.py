"""Leakage and label conflicts, counted where the pixel arrays already are.

Each image's 784 bytes are hashed once during ingestion; two counts follow:
eval images whose exact bytes also occur in the train split (a leak inflates
eval accuracy), and, within one split, distinct images that carry more than
one label (the model is asked to learn a contradiction). The gate
(components/validation_gate.py) holds them against their bounds.
"""
import collections
import hashlib
from typing import Dict, List, Sequence

import numpy as np


def image_hashes(images: np.ndarray) -> List[bytes]:
    """One 128-bit digest per image of its raw bytes."""
    flat = np.ascontiguousarray(images).reshape(len(images), -1)
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat]


def copies_in(hashes: Sequence[bytes], reference: Sequence[bytes]) -> int:
    """How many of `hashes` occur in `reference`."""
    known = set(reference)
    return sum(h in known for h in hashes)


def label_conflicts(hashes: Sequence[bytes], labels: np.ndarray) -> int:
    """Distinct images that appear with two or more different labels."""
    seen: Dict[bytes, set] = collections.defaultdict(set)
    for digest, label in zip(hashes, labels.tolist()):
        seen[digest].add(label)
    return sum(len(found) > 1 for found in seen.values())
