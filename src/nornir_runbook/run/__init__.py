"""The run layer: the plan (what to run where, checked before any connection) and the engine that
runs it step by step through the runner."""
