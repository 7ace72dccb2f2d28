"""Same-job A/B: a git ref's kernels against the working tree's, timed in turn in each process."""
