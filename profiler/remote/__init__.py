"""Target boards reached over SSH: their declarations (targets), the transport (ssh), the
board's own side of the exchange (board, board_worker), the model cache kept there (cache),
their devices (devices) and measuring on them (runner).

A device on a target carries the target's name as a prefix: ``pi5/ov:CPU``.
"""
