"""Measurement: fresh worker processes time a kernel; the engine collects their samples."""
