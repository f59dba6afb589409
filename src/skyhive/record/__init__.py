"""skyhive.record (see docs/)."""
