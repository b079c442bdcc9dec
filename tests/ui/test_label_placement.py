"""Point labels on a scatter never overlap one another or a marker (pure placement, no Qt)."""

from __future__ import annotations

from ui.label_placement import Box, any_overlap, marker_boxes, place_labels


def test_labels_of_nearby_points_do_not_overlap() -> None:
    # five variants within a few pixels of each other, as quantized variants often sit
    anchors = [(200.0, 100.0), (204.0, 102.0), (198.0, 97.0), (210.0, 100.0), (202.0, 108.0)]
    sizes = [(90.0, 16.0)] * len(anchors)
    boxes = place_labels(anchors, sizes, Box(0, 0, 600, 400), marker_px=10.0)
    assert not any_overlap(boxes)
    markers = marker_boxes(anchors, 10.0)
    assert all(box.overlap_px2(marker) == 0 for box in boxes for marker in markers)


def test_a_lone_label_sits_next_to_its_point_inside_the_plot() -> None:
    [box] = place_labels([(590.0, 5.0)], [(80.0, 16.0)], Box(0, 0, 600, 400), marker_px=10.0)
    assert box.outside_px2(Box(0, 0, 600, 400)) == 0  # moved left and down, not off the edge
    assert box.right <= 590.0 and box.top >= 5.0
    assert abs(box.top - 5.0) < 30 and abs(box.right - 590.0) < 30


def test_labels_stay_apart_on_a_diagonal_cluster() -> None:
    anchors = [(100.0 + 3 * i, 200.0 - 2 * i) for i in range(8)]
    boxes = place_labels(anchors, [(70.0, 14.0)] * 8, Box(0, 0, 800, 600), marker_px=8.0)
    assert not any_overlap(boxes)
