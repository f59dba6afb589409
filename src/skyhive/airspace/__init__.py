"""skyhive.airspace (see docs/)."""
