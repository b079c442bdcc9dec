"""Target boards reached over SSH: their declarations (targets), the transport (ssh), the
board's own side of the exchange (board) and the model cache kept there (cache).

A device on a target carries the target's name as a prefix: ``pi5/ov:CPU``.
"""
