"""The world state as struct-of-arrays (world), its construction (build) and the shared spatial index."""
