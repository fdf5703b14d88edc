"""Deployment folders: the bitstream, its hardware handoff, the runtime driver and the
packing metadata the driver reads (``codesign.board.deploy.driver`` is the file copied)."""

from codesign.board.deploy.package import write_deployment

__all__ = ["write_deployment"]
