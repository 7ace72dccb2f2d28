"""Long studies of the detector on this machine (their own targets, not part of `make test`)."""
