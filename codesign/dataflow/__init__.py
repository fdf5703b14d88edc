"""The dataflow graph: FINN lowering, the kernel registry, the stream graph, FIFO sizing."""
