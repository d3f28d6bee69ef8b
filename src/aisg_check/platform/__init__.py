"""Readers of the user's files and of the platforms' auth protocols. No `Recorder` here: these
return data or raise their own errors, and the checks decide what a result says."""
