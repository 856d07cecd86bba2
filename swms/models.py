# Shared models (the review log) live here; see swms/workflow.py.
