"""Where per-file work runs: the executor protocol and the local process pool."""
