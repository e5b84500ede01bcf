"""The model every stage shares, and the checks of input against it.

Plain data (model, document, selectors, limits), errors, the ``${cluster.…}`` language (substitute), the
JSON Schemas and the validation helpers that turn checked documents into the model. Imports nothing else of
fanout: every other package may use it."""
