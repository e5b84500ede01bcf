"""Where rendered files go: the output folder, output branches, and the checks of a pull request's output.

``folder`` (the marker), ``sync`` (the journaled write) with ``staging`` (bytes under temporary names)
and ``moves`` (into place, all or none), ``cache`` and ``snapshot`` (skipping unchanged work),
``parallel`` (workers that render and write) with ``contents`` (rendered bytes, compressed until written),
``publish`` with ``branches``, ``gittrees`` and ``hydrator`` (commits on output branches), ``trustedbase``
(what a pull request may not vouch for itself).
Uses fanout.render and below.
"""
