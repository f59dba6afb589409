"""skyhive.mavlink (see docs/)."""
