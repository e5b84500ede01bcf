"""Where rendered files go: the output folder, output branches, and the checks of a pull request's output.

``folder`` (the marker), ``sync`` (the journaled write) with ``staging`` (bytes under temporary names),
``cache`` and ``snapshot`` (skipping unchanged work), ``parallel`` (workers that render and write),
``publish`` with ``branches``, ``gittrees`` and ``hydrator`` (commits on output branches), ``trustedbase``
(what a pull request may not vouch for itself).
Uses fanout.render and below.
"""
