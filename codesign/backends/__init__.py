"""Hardware backends: from the folded FINN dataflow graph to RTL (and HLS) projects.

``accelerator`` reads the graph into kernel instances (shared by every backend); the
backends only turn those into files.
"""
