"""Jobs: what the command line runs, as functions that return results."""
