"""KubeFed compatibility: replica scheduling, ``federate`` and (later) KubeFed-specific render rules."""
