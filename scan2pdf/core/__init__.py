"""The library core: options, inputs and identity, naming, discovery, resume, pipeline, report."""
