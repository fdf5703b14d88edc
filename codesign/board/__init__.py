"""Boards: the registry, the UART shell and its host side, bitstreams, deployment."""
