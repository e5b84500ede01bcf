"""One module per command, each with the one function the CLI calls; the CLI's help texts and completion.

The top of the package: may use every other package, and none uses it (fanout.cli declares the options).
"""
