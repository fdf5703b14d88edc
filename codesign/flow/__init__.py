"""The flow: the step table, build directories, step keys."""
