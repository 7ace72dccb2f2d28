"""Same-job A/B: a git ref's kernels against the working tree's, in interleaved process pairs."""
