"""Design-space exploration: sweeps, their store, fitting a folding to a board."""
