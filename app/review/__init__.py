"""The assessor's desk: queue, marking, release, agreement and student progress."""
