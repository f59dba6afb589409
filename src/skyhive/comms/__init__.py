"""skyhive.comms (see docs/)."""
