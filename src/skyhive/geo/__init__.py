"""Geography (bottom layer): WGS84 <-> local ENU (``frames.LocalFrame``), geofences from GeoJSON and QGroundControl
plans (``fences``) and their compiled distance/containment kernel (``kernels``).

May import: nothing of skyhive outside ``geo``.
"""
