"""Reading a source root: a folder, a commit or a URL, its files parsed with positions, by role.

``tree`` (folders and memory), ``git`` (commits, working trees, remote URLs), ``discover`` (finding the root),
``parse`` (YAML with line and column), ``load`` (every input file, by role). Uses only fanout.core."""
