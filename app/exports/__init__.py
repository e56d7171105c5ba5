"""Exports: a session as PDF or interchange JSON, a cohort's grades as CSV; transcript import."""
