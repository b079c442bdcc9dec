"""Where point labels go on a scatter so that none covers another label or a marker
(pixels in, pixels out: pure, no Qt).

Each label tries spots around its point, nearest first (right above, right below, left above,
...), then the same spots a line further out; it takes the first spot that stays inside the
plot and overlaps nothing placed before, else the spot that overlaps least.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RINGS = 6
"""How many lines further out a label may move when the spots next to its point are taken."""
GAP_PX = 3.0


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels, y growing downwards (as on screen)."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def overlap_px2(self, other: Box) -> float:
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        return width * height if width > 0 and height > 0 else 0.0

    def outside_px2(self, bounds: Box) -> float:
        """The part of this box outside ``bounds``."""
        return self.width * self.height - self.overlap_px2(bounds)


def candidate_boxes(x: float, y: float, width: float, height: float,
                    marker_px: float) -> list[Box]:
    """Spots around the point at (x, y), nearest first, ring by ring."""
    r = marker_px / 2 + GAP_PX
    boxes = []
    for ring in range(RINGS):
        shift = ring * (height + GAP_PX)
        for dx, dy in ((r, -r - height - shift), (r, r + shift), (-r - width, -r - height - shift),
                       (-r - width, r + shift), (-width / 2, -r - height - shift),
                       (-width / 2, r + shift), (r, -height / 2 + shift),
                       (-r - width, -height / 2 - shift)):
            boxes.append(Box(x + dx, y + dy, width, height))
    return boxes


def marker_boxes(anchors: Sequence[tuple[float, float]], marker_px: float) -> list[Box]:
    return [Box(x - marker_px / 2, y - marker_px / 2, marker_px, marker_px) for x, y in anchors]


def _cost(box: Box, taken: Sequence[Box], bounds: Box | None) -> float:
    cost = sum(box.overlap_px2(other) for other in taken)
    return cost + (box.outside_px2(bounds) if bounds is not None else 0.0)


def place_labels(anchors: Sequence[tuple[float, float]], sizes: Sequence[tuple[float, float]],
                 bounds: Box | None = None, marker_px: float = 10.0) -> list[Box]:
    """One box per label, for the point at the same index; labels placed in order, so the
    first ones get the spots nearest their points."""
    taken = marker_boxes(anchors, marker_px)
    placed = []
    for (x, y), (width, height) in zip(anchors, sizes, strict=True):
        candidates = candidate_boxes(x, y, width, height, marker_px)
        costs = [_cost(box, taken, bounds) for box in candidates]
        # the nearest free spot, else the least-covered one (min keeps the nearest of ties)
        choice = candidates[costs.index(min(costs))]
        placed.append(choice)
        taken.append(choice)
    return placed


def any_overlap(boxes: Sequence[Box]) -> bool:
    return any(a.overlap_px2(b) > 0 for i, a in enumerate(boxes) for b in boxes[i + 1:])
