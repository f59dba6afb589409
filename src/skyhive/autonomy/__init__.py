"""skyhive.autonomy (see docs/)."""
