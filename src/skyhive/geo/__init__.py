"""Geography: WGS84 <-> local ENU (frames), geofences from GeoJSON and QGroundControl plans (fences)."""
